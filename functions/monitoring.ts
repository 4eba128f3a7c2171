/** Lambda for the monitoring domain: alerts (and, as they land, thresholds and alert rules). */
import { httpApiHandler } from '#functions/commons/http-handler';
import { routesOf } from '#shared/routes';

export const handler = httpApiHandler(routesOf('monitoring'));
