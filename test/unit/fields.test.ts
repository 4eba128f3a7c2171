import { hostname, ianaTimezone, ipAddress, macAddress, text } from '#shared/model/fields';
import { uuidv7, UUID_PATTERN } from '#shared/model/ids';

describe('field types', () => {
  test.each(['10.0.0.1', '255.255.255.255', '::1', '2001:db8::8a2e:370:7334', 'fe80::1'])('%s is an IP address', (value) => {
    expect(ipAddress().safeParse(value).success).toBe(true);
  });
  test.each(['256.0.0.1', '10.0.0', '1.2.3.4.5', 'abc', '2001:db8:::1', '', '01.2.3.4x'])('%s is not an IP address', (value) => {
    expect(ipAddress().safeParse(value).success).toBe(false);
  });

  test('MAC addresses are normalised to lower case with colons', () => {
    expect(macAddress().parse('00-50-56-AA-BB-CC')).toBe('00:50:56:aa:bb:cc');
    expect(macAddress().safeParse('00:50:56:aa:bb').success).toBe(false);
  });

  test.each(['Africa/Tunis', 'Europe/Paris', 'UTC', 'America/Argentina/Buenos_Aires'])('%s is an IANA zone', (zone) => {
    expect(ianaTimezone().safeParse(zone).success).toBe(true);
  });
  test.each(['Mars/Olympus', 'GMT+1', 'tunis', '', 'CET-1CEST'])('%s is not an IANA zone', (zone) => {
    expect(ianaTimezone().safeParse(zone).success).toBe(false);
  });

  test('host names follow RFC 1123', () => {
    expect(hostname().safeParse('esx-tun-01.dc.local').success).toBe(true);
    expect(hostname().safeParse('-bad.example').success).toBe(false);
    expect(hostname().safeParse(`${'a'.repeat(64)}.example`).success).toBe(false);
  });

  test('free text refuses control characters and overlong values', () => {
    expect(text(10).safeParse('ok').success).toBe(true);
    expect(text(10).safeParse('bad\u0000').success).toBe(false);
    expect(text(10).safeParse('x'.repeat(11)).success).toBe(false);
    expect(text(10).safeParse('').success).toBe(false);
  });
});

describe('uuidv7', () => {
  test('is a version 7 UUID that sorts by time', () => {
    const first = uuidv7(1_700_000_000_000);
    const second = uuidv7(1_700_000_000_001);
    expect(first).toMatch(UUID_PATTERN);
    expect(first[14]).toBe('7');
    expect(first < second).toBe(true);
  });
});
