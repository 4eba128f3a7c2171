import { decodeCursor, encodeCursor, listScope } from '#shared/db/cursor';

const KEY = 'k'.repeat(40);
const scope = listScope({ collection: 'servers', filters: { status: 'active' } });
const position = { pk: 'SERVER#1', sk: '#META', gsi1pk: 'server', gsi1sk: '1' };

describe('signed cursors', () => {
  test('round-trip the position for the same list', () => {
    expect(decodeCursor(KEY, scope, encodeCursor(KEY, scope, position))).toEqual(position);
  });

  test('the scope does not depend on filter order', () => {
    expect(listScope({ a: 1, b: 2 })).toBe(listScope({ b: 2, a: 1 }));
  });

  test.each([
    ['a flipped signature character', (cursor: string) => `${cursor.slice(0, -1)}${cursor.endsWith('A') ? 'B' : 'A'}`],
    [
      'a changed payload',
      (cursor: string) => `${Buffer.from('{"s":"x","p":{},"e":9999999999}').toString('base64url')}.${cursor.split('.')[1]}`,
    ],
    ['no signature', (cursor: string) => cursor.split('.')[0] as string],
    ['extra parts', (cursor: string) => `${cursor}.x`],
    ['garbage', () => '%%%'],
  ])('reject %s with invalid_cursor', (_name, tamper) => {
    const cursor = encodeCursor(KEY, scope, position);
    expect(() => decodeCursor(KEY, scope, tamper(cursor))).toThrow(expect.objectContaining({ code: 'invalid_cursor', status: 400 }));
  });

  test('reject a cursor of another list (other filters)', () => {
    const cursor = encodeCursor(KEY, scope, position);
    const otherScope = listScope({ collection: 'servers', filters: { status: 'failed' } });
    expect(() => decodeCursor(KEY, otherScope, cursor)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });

  test('reject a cursor signed with another key', () => {
    const cursor = encodeCursor('z'.repeat(40), scope, position);
    expect(() => decodeCursor(KEY, scope, cursor)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });

  test('reject an expired cursor', () => {
    const issued = Date.UTC(2026, 0, 1);
    const cursor = encodeCursor(KEY, scope, position, issued);
    expect(decodeCursor(KEY, scope, cursor, issued + 23 * 3600_000)).toEqual(position);
    expect(() => decodeCursor(KEY, scope, cursor, issued + 25 * 3600_000)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });
});
