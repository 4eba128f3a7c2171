/**
 * Maintenance procedures: CRUD with operations scopes, and the revision history written in the same transaction as
 * every change (a rejected change writes no revision).
 */
import { detailPaths, expectError, MISSING_ID, unique, useApi } from './helpers';

const h = useApi();
const base = '/v1/maintenance-procedures';

const procedureBody = () => ({
  title: unique('Replace a PSU'),
  vendor: 'Dell',
  model: 'PowerEdge R750',
  steps: [
    { title: 'Drain the host', instructions: 'Put the host in maintenance mode and wait for vMotion.', expected_minutes: 20 },
    { title: 'Swap the PSU', instructions: 'Pull the failed unit, insert the spare, check the LED.', expected_minutes: 10 },
  ],
  required_tools: ['ESD strap'],
  required_resources: ['spare PSU 1400W'],
  risk_level: 'medium',
});

test('create, patch twice, read the revision history and an old revision', async () => {
  const { send } = h;
  const body = procedureBody();
  const created = await send('POST', base, { body });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ ...body, tag: null, revision: 1, version: 1 });
  const id = created.body.id;

  const first = await send('PATCH', `${base}/${id}`, { body: { title: 'PSU v2' }, headers: { 'if-match': '"1"' } });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ title: 'PSU v2', revision: 2, version: 2 });
  const second = await send('PATCH', `${base}/${id}`, { body: { title: 'PSU v3', risk_level: 'high' } });
  expect(second.status).toBe(200);
  expect(second.body).toMatchObject({ title: 'PSU v3', risk_level: 'high', revision: 3, version: 3 });

  // A no-op patch writes neither a version nor a revision.
  const same = await send('PATCH', `${base}/${id}`, { body: { title: 'PSU v3' } });
  expect(same.body.version).toBe(3);

  const revisions = await send('GET', `${base}/${id}/revisions`);
  expect(revisions.status).toBe(200);
  expect(revisions.body.items.map((item: any) => [item.revision, item.title])).toEqual([
    [1, body.title],
    [2, 'PSU v2'],
  ]);
  expect(revisions.body.items[0].updated_at).toBe(created.body.updated_at);

  const original = await send('GET', `${base}/${id}/revisions/1`);
  expect(original.status).toBe(200);
  expect(original.body).toEqual(created.body);
  expect((await send('GET', `${base}/${id}/revisions/2`)).body).toEqual(first.body);

  expectError(await send('GET', `${base}/${id}/revisions/99`), 404, 'not_found');
  expectError(await send('GET', `${base}/${MISSING_ID}/revisions`), 404, 'not_found');
  expectError(await send('GET', `${base}/${id}/revisions/zero`), 400, 'validation_error');

  const current = await send('GET', `${base}/${id}`);
  expect(current.body).toEqual(second.body);
});

test('a stale If-Match is a 412 and writes no revision', async () => {
  const { send } = h;
  const created = await send('POST', base, { body: procedureBody() });
  const id = created.body.id;
  expect((await send('PATCH', `${base}/${id}`, { body: { title: 'changed' } })).status).toBe(200);
  expectError(
    await send('PATCH', `${base}/${id}`, { body: { title: 'stale' }, headers: { 'if-match': '"1"' } }),
    412,
    'precondition_failed',
  );
  const revisions = await send('GET', `${base}/${id}/revisions`);
  expect(revisions.body.items.map((item: any) => item.revision)).toEqual([1]);
  expect((await send('GET', `${base}/${id}`)).body).toMatchObject({ title: 'changed', version: 2, revision: 2 });
});

test('validation: required fields, step bounds, risk level, unknown fields', async () => {
  const { send } = h;
  const { title: _title, ...noTitle } = procedureBody();
  const missing = await send('POST', base, { body: noTitle });
  expectError(missing, 400, 'validation_error');
  expect(detailPaths(missing)).toContain('title');

  expectError(await send('POST', base, { body: { ...procedureBody(), steps: [] } }), 400, 'validation_error');
  const tooMany = Array.from({ length: 101 }, (_, index) => ({ title: `s${index}`, instructions: 'x', expected_minutes: 1 }));
  expectError(await send('POST', base, { body: { ...procedureBody(), steps: tooMany } }), 400, 'validation_error');
  expectError(await send('POST', base, { body: { ...procedureBody(), risk_level: 'extreme' } }), 400, 'validation_error');
  expectError(
    await send('POST', base, { body: { ...procedureBody(), steps: [{ title: 't', instructions: 'i', expected_minutes: -1 }] } }),
    400,
    'validation_error',
  );
  expectError(await send('POST', base, { body: { ...procedureBody(), revision: 5 } }), 400, 'validation_error');

  const created = await send('POST', base, { body: procedureBody() });
  expectError(await send('PATCH', `${base}/${created.body.id}`, { body: {} }), 400, 'validation_error');
  expectError(await send('PATCH', `${base}/${created.body.id}`, { body: { revision: 9 } }), 400, 'validation_error');
});

test('list filters by vendor, model and risk level', async () => {
  const { send } = h;
  const vendor = unique('vendor');
  const low = await send('POST', base, { body: { ...procedureBody(), vendor, risk_level: 'low' } });
  const critical = await send('POST', base, { body: { ...procedureBody(), vendor, model: 'X1', risk_level: 'critical' } });
  const byVendor = await send('GET', `${base}?vendor=${vendor}&limit=500`);
  expect(byVendor.body.items.map((item: any) => item.id).sort()).toEqual([low.body.id, critical.body.id].sort());
  const byRisk = await send('GET', `${base}?vendor=${vendor}&risk_level=critical`);
  expect(byRisk.body.items.map((item: any) => item.id)).toEqual([critical.body.id]);
  const byModel = await send('GET', `${base}?vendor=${vendor}&model=X1`);
  expect(byModel.body.items.map((item: any) => item.id)).toEqual([critical.body.id]);
  expectError(await send('GET', `${base}?risk_level=extreme`), 400, 'validation_error');
});

test('scopes: a viewer reads but cannot write', async () => {
  const { send, api } = h;
  const created = await send('POST', base, { body: procedureBody() });
  const viewer = await api.createKey({ role: 'viewer', scopes: ['operations:read'] });
  expect((await send('GET', `${base}/${created.body.id}`, { key: viewer })).status).toBe(200);
  expect((await send('GET', `${base}/${created.body.id}/revisions`, { key: viewer })).status).toBe(200);
  expectError(await send('POST', base, { key: viewer, body: procedureBody() }), 403, 'forbidden');
  expectError(await send('PATCH', `${base}/${created.body.id}`, { key: viewer, body: { title: 'nope' } }), 403, 'forbidden');
  expectError(await send('DELETE', `${base}/${created.body.id}`, { key: viewer }), 403, 'forbidden');
});
