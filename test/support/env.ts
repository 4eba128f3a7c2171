/** Per test file: its own table name and fixed test secrets, before any module reads them. */
import { randomBytes } from 'node:crypto';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.LOG_LEVEL ??= 'silent';
process.env.TABLE_NAME = `test-${randomBytes(6).toString('hex')}`;
process.env.DYNAMODB_ENDPOINT = process.env.TEST_DYNAMODB_ENDPOINT;
process.env.CURSOR_SIGNING_KEY = 'test-cursor-key-0123456789abcdef0123456789';
process.env.API_KEY_PEPPER = 'test-pepper-0123456789abcdef0123456789abcdef';
process.env.LOCAL_RUNTIME = 'true';
process.env.AUTHORIZER_CACHE_TTL_SECONDS = '0';
