/** Routes of the inventory domain: the standard collection routes of each inventory entity. */
import { crudRoutes } from '#shared/http/crud';
import type { RouteDefinition } from '#shared/http/route';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { networkConfigurationEntity } from '#shared/domains/inventory/network-configuration';
import { serverEntity } from '#shared/domains/inventory/server';
import { storageBayEntity } from '#shared/domains/inventory/storage-bay';
import { tagEntity } from '#shared/domains/inventory/tag';
import { vmEntity } from '#shared/domains/inventory/vm';

export const INVENTORY_ENTITIES = [datacenterEntity, serverEntity, vmEntity, storageBayEntity, networkConfigurationEntity, tagEntity];

const inventory = { domain: 'inventory', read: { scope: 'inventory:read' }, write: { scope: 'inventory:write' } } as const;

export const inventoryRoutes: RouteDefinition[] = INVENTORY_ENTITIES.flatMap((entity) => crudRoutes(entity, inventory));
