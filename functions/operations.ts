/** Lambda for the operations domain: maintenance windows and procedures. */
import { httpApiHandler } from '#functions/commons/http-handler';
import { routesOf } from '#shared/routes';

export const handler = httpApiHandler(routesOf('operations'));
