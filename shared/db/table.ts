/**
 * The one DynamoDB table, defined once. CDK (lib/), the local runtime (local/) and the tests all build the table
 * from this definition, so the key schema cannot drift between AWS and a laptop.
 *
 * Generic key attributes (ElectroDB style): every item has `pk`/`sk` and a `type`; global secondary indexes use
 * `gsiNpk`/`gsiNsk` and are sparse (an item only appears in an index when it carries that index's attributes).
 */
export const KEY_ATTRIBUTES = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** The item's kind (`server`, `unique_guard`, ...). An object's own field of a reserved name is stored renamed. */
  type: 'type',
  /** The single TTL attribute, epoch seconds. */
  timeToLive: 'expires_at_epoch',
} as const;

export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** What the index answers, for readers of the code and the docs. */
  readonly purpose: string;
}

export const INDEXES = {
  /** Every object of one type, in id (creation) order: `gsi1pk = <type>`, `gsi1sk = <id>`. */
  byType: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', purpose: 'all objects of a type' },
  /** Children of a datacenter: `gsi2pk = DATACENTER#<id>`, `gsi2sk = <TYPE>#<id>`. */
  byDatacenter: { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', purpose: 'objects of a datacenter' },
  /** Children of another object (VMs of a server, NICs of a server or VM): `gsi3pk = <TYPE>#<id>`. */
  byParent: { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk', purpose: 'objects of a parent object' },
} as const satisfies Record<string, IndexDefinition>;

export type IndexName = keyof typeof INDEXES;

/** Attribute names the storage layer owns; see `storedFieldName`. */
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  ...Object.values(KEY_ATTRIBUTES),
  ...Object.values(INDEXES).flatMap((index) => [index.partitionKey, index.sortKey]),
]);

/**
 * Where an object's own field is stored. A field named like a storage attribute (a storage bay's `type`) is kept
 * as `field_<name>` so it can never overwrite the item's keys or kind.
 */
export function storedFieldName(field: string): string {
  return RESERVED_ATTRIBUTES.has(field) ? `field_${field}` : field;
}

export const TABLE_DEFINITION = {
  keyAttributes: KEY_ATTRIBUTES,
  indexes: INDEXES,
} as const;

/** The CreateTable input for DynamoDB Local and tests (CDK builds the same shape in lib/). */
export function createTableInput(tableName: string) {
  const indexes = Object.values(INDEXES);
  const attributeNames = [
    KEY_ATTRIBUTES.partitionKey,
    KEY_ATTRIBUTES.sortKey,
    ...indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: attributeNames.map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: KEY_ATTRIBUTES.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: KEY_ATTRIBUTES.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' as const },
  };
}
