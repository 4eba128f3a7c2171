/** Lambda for the sync routes: vSphere connections, connection tests, sync triggers and history (outside the VPC). */
import { httpApiHandler } from '#functions/commons/http-handler';
import { routesOf } from '#shared/routes';

export const handler = httpApiHandler(routesOf('sync'));
