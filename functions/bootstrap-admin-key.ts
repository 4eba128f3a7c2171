/**
 * CloudFormation custom resource: registers the generated bootstrap admin key (Secrets Manager secret
 * `ADMIN_API_KEY_SECRET_ARN`) as an admin API key, stored hashed like any other. Operators read the key from
 * that secret once and create named keys with it.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { ensureBootstrapAdminKey } from '#shared/auth/bootstrap';

const secrets = new SecretsManagerClient({});

export async function handler(
  event: CloudFormationCustomResourceEvent,
): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const physicalId = 'bootstrap-admin-key';
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalId };
  const arn = process.env.ADMIN_API_KEY_SECRET_ARN;
  if (!arn) throw new Error('ADMIN_API_KEY_SECRET_ARN is not set');
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  const outcome = await ensureBootstrapAdminKey(secret.SecretString);
  // Only the public key id leaves this function; the key itself stays in Secrets Manager.
  return { PhysicalResourceId: physicalId, Data: { ApiKeyId: outcome.id } };
}
