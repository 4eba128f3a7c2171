/** Lambda for the inventory domain: datacenters, servers, VMs, storage bays, network configurations, tags. */
import { httpApiHandler } from '#functions/commons/http-handler';
import { routesOf } from '#shared/routes';

export const handler = httpApiHandler(routesOf('inventory'));
