/**
 * Runtime configuration, read once per cold start. On AWS the secrets come from one Secrets Manager secret
 * (`SERVER_SECRETS_ARN`); locally and in tests from environment variables set by the local runtime.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';

export function tableName(): string {
  const name = process.env.TABLE_NAME;
  if (!name) throw new Error('TABLE_NAME is not set');
  return name;
}

const ServerSecretsSchema = z.object({
  /** HMAC key that signs list cursors. */
  cursor_key: z.string().min(32),
  /** HMAC key (pepper) for API key and session token hashes. */
  api_key_pepper: z.string().min(32),
  /** The API Gateway usage-plan key the authorizer hands back (AWS only). */
  usage_plan_key: z.string().optional(),
});
export type ServerSecrets = z.infer<typeof ServerSecretsSchema>;

let cached: Promise<ServerSecrets> | undefined;

export function serverSecrets(): Promise<ServerSecrets> {
  cached ??= loadServerSecrets().catch((error: unknown) => {
    cached = undefined; // a failed fetch must not poison the warm container
    throw error;
  });
  return cached;
}

async function loadServerSecrets(): Promise<ServerSecrets> {
  const arn = process.env.SERVER_SECRETS_ARN;
  if (arn) {
    const client = new SecretsManagerClient({});
    const result = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    return ServerSecretsSchema.parse(JSON.parse(result.SecretString ?? '{}'));
  }
  return ServerSecretsSchema.parse({
    cursor_key: process.env.CURSOR_SIGNING_KEY,
    api_key_pepper: process.env.API_KEY_PEPPER,
  });
}
