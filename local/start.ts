/**
 * `npm start`: DynamoDB Local (data in .data/dynamodb, or --in-memory), the table, server secrets, the bootstrap
 * admin key, and the API on http://127.0.0.1:3000/v1. Ctrl-C stops everything, the JVM included.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureBootstrapAdminKey } from '#shared/auth/bootstrap';
import { ensureTable, startDynamoLocal } from '#local/dynamodb';
import { startLocalServer } from '#local/server';
import { dispatchDueSyncs } from '#shared/domains/sync/trigger';
import { describeError, log } from '#shared/log';

/** How often the local runtime runs the sync dispatcher (EventBridge runs it every minute on AWS). */
const DISPATCH_INTERVAL_MS = Number(process.env.SYNC_DISPATCH_INTERVAL_MS ?? 60_000);

// The SDK's Node 20 notice is not actionable for a laptop run; Lambda runs nodejs22.x.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DATA_DIR = resolve(process.env.DATA_DIR ?? '.data');
const TABLE = process.env.TABLE_NAME ?? 'dc-inventory';

interface LocalSecrets {
  cursor_key: string;
  api_key_pepper: string;
}

/** Server secrets for the laptop: generated once, kept in .data/secrets.json (0600), like Secrets Manager on AWS. */
function localSecrets(inMemory: boolean): LocalSecrets {
  const file = join(DATA_DIR, 'secrets.json');
  if (!inMemory && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalSecrets;
  const secrets = { cursor_key: randomBytes(32).toString('base64url'), api_key_pepper: randomBytes(32).toString('base64url') };
  if (!inMemory) {
    writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return secrets;
}

export async function main(argv: readonly string[]): Promise<void> {
  const inMemory = argv.includes('--in-memory');
  const port = Number(process.env.PORT ?? 3000);
  mkdirSync(DATA_DIR, { recursive: true });

  const dynamo = await startDynamoLocal(inMemory ? {} : { dataDir: join(DATA_DIR, 'dynamodb') });
  const secrets = localSecrets(inMemory);
  process.env.TABLE_NAME = TABLE;
  process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  process.env.CURSOR_SIGNING_KEY = secrets.cursor_key;
  process.env.API_KEY_PEPPER = secrets.api_key_pepper;
  process.env.LOCAL_RUNTIME = 'true';

  let stopping = false;
  let closeServer: (() => Promise<void>) | undefined;
  let dispatcher: NodeJS.Timeout | undefined;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    clearInterval(dispatcher);
    process.stdout.write('\nStopping...\n');
    await closeServer?.().catch(() => undefined);
    await dynamo.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const table = await ensureTable(dynamo.endpoint, TABLE);
    const bootstrap = await ensureBootstrapAdminKey(process.env.ADMIN_API_KEY);
    const { url, close } = await startLocalServer({ port });
    closeServer = close;
    process.stdout.write(
      `DynamoDB Local: ${dynamo.endpoint} (${inMemory ? 'in memory' : `data in ${join(DATA_DIR, 'dynamodb')}`}, table ${TABLE} ${table})\n`,
    );
    if (bootstrap.kind === 'generated') {
      const keyFile = join(DATA_DIR, 'admin-api-key');
      writeFileSync(keyFile, `${bootstrap.key}\n`, { mode: 0o600 });
      chmodSync(keyFile, 0o600);
      process.stdout.write(`Admin API key (shown once, also in ${keyFile}): ${bootstrap.key}\n`);
    } else if (bootstrap.kind === 'configured') {
      process.stdout.write('Admin API key: the one in ADMIN_API_KEY\n');
    } else {
      process.stdout.write(`Admin API key: created earlier, see ${join(DATA_DIR, 'admin-api-key')}\n`);
    }
    process.stdout.write(`Inventory API listening on ${url}/v1  (health: ${url}/v1/health, docs: ${url}/v1/openapi.json)\n`);
    // The same dispatcher as the EventBridge schedule on AWS; syncs run in this process.
    dispatcher = setInterval(() => {
      dispatchDueSyncs().catch((error: unknown) => log.warn('sync dispatch failed', describeError(error)));
    }, DISPATCH_INTERVAL_MS);
    process.stdout.write(
      `Sync dispatcher: every ${Math.round(DISPATCH_INTERVAL_MS / 1000)} s (vSphere connections whose interval has passed)\n`,
    );
  } catch (error) {
    process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await stop(1);
  }
}

void main(process.argv.slice(2));
