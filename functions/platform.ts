/** Lambda for the public routes: health and the OpenAPI document. */
import { httpApiHandler } from '#functions/commons/http-handler';
import { routesOf } from '#shared/routes';

export const handler = httpApiHandler(routesOf('platform'));
