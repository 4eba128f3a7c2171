/** Key formats, in one place. Every item's keys are built here and nowhere else. */
import type { EntityDefinition } from '#shared/model/entity';

export const ITEM_SORT_KEY = '#META';
export const GUARD_SORT_KEY = '#UNIQUE';

export const entityKey = (entity: Pick<EntityDefinition, 'prefix'>, id: string) => ({ pk: `${entity.prefix}#${id}`, sk: ITEM_SORT_KEY });

/** Index sort key of a child under a shared parent partition: `SERVER#<id>`. */
export const childSortKey = (entity: Pick<EntityDefinition, 'prefix'>, id: string) => `${entity.prefix}#${id}`;

/** Guard item that makes a value unique: `UNIQUE#server#hostname#<dc>#<name>`. */
export const guardKey = (entity: Pick<EntityDefinition, 'type'>, field: string, value: string) => ({
  pk: `UNIQUE#${entity.type}#${field}#${value}`,
  sk: GUARD_SORT_KEY,
});

/** Link between a tag and a tagged object, stored in the tag's partition so "objects with tag X" is one query. */
export const tagLinkKey = (tagId: string, entity: Pick<EntityDefinition, 'prefix'>, entityId: string) => ({
  pk: `TAG#${tagId}`,
  sk: `${entity.prefix}#${entityId}`,
});

/** The counter attribute a parent keeps of its children of one type (restricts deletes atomically). */
export const referenceCounter = (child: Pick<EntityDefinition, 'type'>) => `refs_${child.type}`;
