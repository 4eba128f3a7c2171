/** Lambda for the identity domain: users, login and sessions, MFA, API keys, the audit trail, security settings. */
import { httpApiHandler } from '#functions/commons/http-handler';
import { routesOf } from '#shared/routes';

export const handler = httpApiHandler(routesOf('identity'));
