/**
 * Where vCenter passwords live. On AWS: Secrets Manager, one secret per connection (`dc-inventory/vsphere/<id>`),
 * the sync function alone may read it. Locally (no AWS account): sealed with AES-GCM in the table. The item keeps only
 * a reference, so the password can never reach a response, an audit record or a log line.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { open, seal } from '#shared/domains/identity/secret-box';

export interface CredentialStore {
  /** Stores (or replaces) the password of a connection and returns the reference to keep on the item. */
  put(connectionId: string, password: string): Promise<string>;
  get(reference: string): Promise<string>;
  remove(reference: string): Promise<void>;
}

export function secretName(connectionId: string): string {
  const prefix = process.env.VSPHERE_SECRET_PREFIX ?? 'dc-inventory/vsphere/';
  return `${prefix}${connectionId}`;
}

let secretsClient: SecretsManagerClient | undefined;
const client = () => {
  secretsClient ??= new SecretsManagerClient({});
  return secretsClient;
};

export const secretsManagerStore: CredentialStore = {
  async put(connectionId, password) {
    const name = secretName(connectionId);
    const value = JSON.stringify({ password });
    try {
      const created = await client().send(
        new CreateSecretCommand({
          Name: name,
          SecretString: value,
          Description: `vCenter password of vSphere connection ${connectionId}`,
          ...(process.env.VSPHERE_SECRET_KMS_KEY_ID ? { KmsKeyId: process.env.VSPHERE_SECRET_KMS_KEY_ID } : {}),
          Tags: [{ Key: 'dc-inventory:connection', Value: connectionId }],
        }),
      );
      return created.ARN ?? name;
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'ResourceExistsException') throw error;
      const updated = await client().send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
      return updated.ARN ?? name;
    }
  },
  async get(reference) {
    const result = await client().send(new GetSecretValueCommand({ SecretId: reference }));
    const parsed = JSON.parse(result.SecretString ?? '{}') as { password?: unknown };
    if (typeof parsed.password !== 'string') throw new Error('The vCenter secret has no password');
    return parsed.password;
  },
  async remove(reference) {
    try {
      await client().send(new DeleteSecretCommand({ SecretId: reference, RecoveryWindowInDays: 7 }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  },
};

const localKey = (connectionId: string) => ({ pk: `VSPHERE_SECRET#${connectionId}`, sk: '#SECRET' });

export const localStore: CredentialStore = {
  async put(connectionId, password) {
    await documentClient().send(
      new PutCommand({ TableName: tableName(), Item: { ...localKey(connectionId), type: 'vsphere_secret', sealed: await seal(password) } }),
    );
    return `local:${connectionId}`;
  },
  async get(reference) {
    const item = (await documentClient().send(new GetCommand({ TableName: tableName(), Key: localKey(reference.replace(/^local:/, '')) })))
      .Item;
    if (typeof item?.sealed !== 'string') throw new Error('The vCenter secret is missing');
    return open(item.sealed);
  },
  async remove(reference) {
    await documentClient().send(new DeleteCommand({ TableName: tableName(), Key: localKey(reference.replace(/^local:/, '')) }));
  },
};

/** Secrets Manager on AWS (`VSPHERE_SECRETS=secretsmanager`, set by the stack), the table locally. */
export function credentialStore(): CredentialStore {
  return process.env.VSPHERE_SECRETS === 'secretsmanager' ? secretsManagerStore : localStore;
}
