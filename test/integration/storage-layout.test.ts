/**
 * The table layout the issue fixes: every item carries a `type`, objects' own fields named like storage attributes
 * (a storage bay's `type`) survive without clobbering it, and no item holds a plaintext key.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#shared/db/client';
import { bayBody, created, useApi, world } from './helpers';

const h = useApi();

test('every item has a type; a storage bay keeps its own type field and filters on it', async () => {
  const { send, api } = h;
  const { dc } = await world(send);
  const bay = await created(send, 'storage-bays', { ...bayBody(dc.id), type: 'nfs' });
  expect(bay.type).toBe('nfs');
  expect((await send('GET', `/v1/storage-bays/${bay.id}`)).body.type).toBe('nfs');
  const listed = await send('GET', `/v1/storage-bays?datacenter_id=${dc.id}&type=nfs`);
  expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([bay.id]);

  const items = (await documentClient().send(new ScanCommand({ TableName: process.env.TABLE_NAME }))).Items ?? [];
  expect(items.length).toBeGreaterThan(5);
  for (const item of items) expect(typeof item.type).toBe('string');
  const stored = items.find((item) => item.pk === `STORAGE_BAY#${bay.id}`);
  expect(stored).toMatchObject({ type: 'storage_bay', field_type: 'nfs' });
  expect(JSON.stringify(items)).not.toContain(api.adminKey);
});
