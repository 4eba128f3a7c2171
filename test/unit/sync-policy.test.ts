import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { secretsManagerStore } from '#shared/domains/sync/credentials';
import { endpointProblem } from '#shared/domains/sync/endpoint-policy';
import { sdkUrl } from '#shared/vsphere/soap';
import { changedFields } from '#shared/domains/sync/engine';
import { isDue } from '#shared/domains/sync/trigger';

describe('vCenter endpoint policy (SSRF guard)', () => {
  const original = process.env.LOCAL_RUNTIME;
  afterEach(() => {
    process.env.LOCAL_RUNTIME = original;
  });

  test.each(['https://vcenter.tunis.example.com', 'https://10.20.0.5', 'https://vc.example.com:8443/sdk', 'https://[2001:db8::5]'])(
    'accepts %s on AWS',
    (url) => {
      process.env.LOCAL_RUNTIME = 'false';
      expect(endpointProblem(url)).toBeUndefined();
    },
  );

  test.each([
    ['http://vcenter.example.com', 'https'],
    ['https://127.0.0.1', 'loopback'],
    ['https://localhost/sdk', 'loopback'],
    ['https://169.254.169.254/latest/meta-data', 'link-local'],
    ['https://[fe80::1]', 'link-local'],
    ['https://metadata.google.internal', 'metadata'],
    ['https://user:pw@vc.example.com', 'credentials'],
    ['ftp://vc.example.com', 'https'],
    ['not a url', 'URL'],
  ])('refuses %s on AWS (%s)', (url, reason) => {
    process.env.LOCAL_RUNTIME = 'false';
    expect(endpointProblem(url)).toContain(reason);
  });

  test('the local runtime also accepts plain http and loopback (the simulator), never metadata', () => {
    process.env.LOCAL_RUNTIME = 'true';
    expect(endpointProblem('http://127.0.0.1:8989/sdk')).toBeUndefined();
    expect(endpointProblem('http://169.254.169.254/')).toContain('link-local');
  });

  test('the SDK URL is derived the same way with or without /sdk', () => {
    expect(sdkUrl('https://vc.example.com/sdk').href).toBe('https://vc.example.com/sdk');
    expect(sdkUrl('https://vc.example.com/').href).toBe('https://vc.example.com/sdk');
  });
});

describe('Secrets Manager credential store: exact commands', () => {
  const secrets = mockClient(SecretsManagerClient);
  beforeEach(() => secrets.reset());
  afterAll(() => secrets.restore());

  test('put creates one secret per connection, tagged, holding only the password', async () => {
    secrets.on(CreateSecretCommand).resolves({ ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:dc-inventory/vsphere/abc-XyZ123' });
    const reference = await secretsManagerStore.put('abc', 's3cret!');
    expect(reference).toBe('arn:aws:secretsmanager:eu-west-1:1:secret:dc-inventory/vsphere/abc-XyZ123');
    expect(secrets).toHaveReceivedCommandTimes(CreateSecretCommand, 1);
    expect(secrets).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'dc-inventory/vsphere/abc',
      SecretString: JSON.stringify({ password: 's3cret!' }),
      Tags: [{ Key: 'dc-inventory:connection', Value: 'abc' }],
    });
  });

  test('put on an existing secret stores a new version instead', async () => {
    secrets.on(CreateSecretCommand).rejects(Object.assign(new Error('exists'), { name: 'ResourceExistsException' }));
    secrets.on(PutSecretValueCommand).resolves({ ARN: 'arn:x' });
    await expect(secretsManagerStore.put('abc', 'new-password')).resolves.toBe('arn:x');
    expect(secrets).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: 'dc-inventory/vsphere/abc',
      SecretString: JSON.stringify({ password: 'new-password' }),
    });
  });

  test('get reads the password; remove deletes with a recovery window', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ password: 'pw' }) });
    secrets.on(DeleteSecretCommand).resolves({});
    await expect(secretsManagerStore.get('arn:x')).resolves.toBe('pw');
    await secretsManagerStore.remove('arn:x');
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'arn:x' });
    expect(secrets).toHaveReceivedCommandWith(DeleteSecretCommand, { SecretId: 'arn:x', RecoveryWindowInDays: 7 });
  });

  test('a secret without a password is an error, not an empty login', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{}' });
    await expect(secretsManagerStore.get('arn:x')).rejects.toThrow('no password');
  });
});

describe('sync decisions', () => {
  test('only differing fields count as changes; null equals absent; nested key order does not matter', () => {
    const stored = { name: 'a', disks: [{ label: 'd', capacity_bytes: 1 }], owner: 'people' };
    expect(changedFields(stored, { name: 'a', disks: [{ capacity_bytes: 1, label: 'd' }], notes_missing: null })).toEqual({});
    expect(changedFields(stored, { name: 'b', missing_since: null })).toEqual({ name: 'b' });
  });

  test('a connection is due when its interval has passed since the last sync, and never when disabled', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    const base = { id: 'c', created_at: '', updated_at: '', version: 1, sync_interval_minutes: 30 };
    expect(isDue({ ...base, last_sync_at: '2026-11-25T09:31:00Z' }, now)).toBe(false);
    expect(isDue({ ...base, last_sync_at: '2026-11-25T09:30:00Z' }, now)).toBe(true);
    expect(isDue({ ...base }, now)).toBe(true);
    expect(isDue({ ...base, enabled: false }, now)).toBe(false);
  });
});
