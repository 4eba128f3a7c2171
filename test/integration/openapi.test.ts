/**
 * `GET /v1/openapi.json`: an OpenAPI 3.1 document of every route, generated from the schemas that validate
 * requests. Every documented operation exists on the gateway, and the documented shapes match what the API does.
 */
import { allRoutes } from '#shared/routes';
import { bayBody, created, detailPaths, ENTITIES, nicBody, tagBody, useApi, world } from './helpers';

const h = useApi();

let document: any;
const real: Record<string, string> = {};
const validBodies: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  const { send } = h;
  const response = await send('GET', '/v1/openapi.json', { key: null });
  expect(response.status).toBe(200);
  document = response.body;
  const a = await world(send);
  const bay = await created(send, 'storage-bays', bayBody(a.dc.id));
  const nic = await created(send, 'network-configurations', nicBody({ server_id: a.server.id }));
  const tag = await created(send, 'tags', tagBody());
  const me = (await send('GET', '/v1/me')).body;
  const key = await h.api.createKeyWithIds({ scopes: ['inventory:read'] });
  // A connection to a closed port: its sync fails fast, which still leaves a history record to read.
  const connection = await created(send, 'vsphere-connections', {
    datacenter_id: a.dc.id,
    endpoint_url: 'http://127.0.0.1:9/sdk',
    username: 'openapi',
    password: 'openapi-password',
  });
  const sync = (await send('POST', `/v1/datacenters/${a.dc.id}/sync`)).body;
  const alert = (await send('POST', '/v1/alerts', { body: { source: 'openapi', severity: 'info', message: 'documented' } })).body;
  // Monitoring configuration objects (threshold monitoring).
  const monitoringConfiguration = await created(send, 'monitoring-configurations', { datacenter_id: a.dc.id });
  const threshold = await created(send, 'monitoring-thresholds', {
    name: 'openapi',
    metric: 'host_cpu_usage_pct',
    comparison: 'gt',
    warning: 90,
  });
  const maintenanceWindow = await created(send, 'maintenance-windows', {
    datacenter_id: a.dc.id,
    name: 'openapi',
    starts_at: '2025-01-01T00:00:00Z',
    ends_at: '2025-01-01T01:00:00Z',
  });
  Object.assign(real, {
    'monitoring-configurations': monitoringConfiguration.id,
    'monitoring-thresholds': threshold.id,
    'maintenance-windows': maintenanceWindow.id,
  });
  // An alert rule (notification fan-out).
  const alertRule = await created(send, 'alert-configurations', {
    name: 'openapi',
    severities: ['critical'],
    channels: [{ name: 'ops', type: 'email', target: 'ops@example.com' }],
  });
  Object.assign(real, { 'alert-configurations': alertRule.id });
  // A maintenance procedure with one previous revision (revision 1).
  const procedure = await created(send, 'maintenance-procedures', {
    title: 'openapi',
    steps: [{ title: 'step', instructions: 'do it', expected_minutes: 5 }],
    risk_level: 'low',
  });
  expect((await send('PATCH', `/v1/maintenance-procedures/${procedure.id}`, { body: { title: 'openapi v2' } })).status).toBe(200);
  Object.assign(real, { 'maintenance-procedures': procedure.id });
  // A backup policy over the VM, and one job of it.
  const backupPolicy = await created(send, 'backup-policies', {
    datacenter_id: a.dc.id,
    name: 'openapi',
    scope_kind: 'vm',
    vm_id: a.vm.id,
    schedule_cron: '0 2 * * *',
    retention: { daily: 7, weekly: 0, monthly: 0, yearly: 0 },
    target: 'openapi',
    rpo_hours: 24,
  });
  const backupJob = await created(send, 'backup-schedules', {
    policy_id: backupPolicy.id,
    vm_id: a.vm.id,
    scheduled_at: '2025-01-01T01:00:00Z',
    status: 'scheduled',
  });
  Object.assign(real, { 'backup-policies': backupPolicy.id, 'backup-schedules': backupJob.id });
  const securityPolicy = await created(send, 'security-policies', { name: 'openapi', category: 'other' });
  Object.assign(real, { 'security-policies': securityPolicy.id });
  Object.assign(real, {
    'vsphere-connections': connection.id,
    'sync-history': sync.sync_id,
    alerts: alert.id,
    users: me.user.id,
    'api-keys': key.id,
    datacenters: a.dc.id,
    servers: a.server.id,
    vms: a.vm.id,
    'storage-bays': bay.id,
    'network-configurations': nic.id,
    tags: tag.id,
  });
  for (const spec of ENTITIES) validBodies[spec.collection] = await spec.body(send);
});

const operationOf = (path: string, method: string) => document.paths?.[path]?.[method.toLowerCase()];

test('the document is OpenAPI 3.1 and needs no credentials', () => {
  expect(document.openapi).toMatch(/^3\.1\.\d+$/);
  expect(typeof document.info?.title).toBe('string');
  expect(document.components?.securitySchemes?.ApiKey).toEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' });
});

test('every route of the route table is documented with its method, once', () => {
  const missing = allRoutes.filter((route) => !operationOf(route.path, route.method)).map((route) => `${route.method} ${route.path}`);
  expect(missing).toEqual([]);
  const documented = Object.entries<any>(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
  expect(documented.sort()).toEqual(allRoutes.map((route) => `${route.method} ${route.path}`).sort());
  const operationIds = documented.map((key) => {
    const [method, path] = key.split(' ') as [string, string];
    return operationOf(path, method).operationId;
  });
  expect(new Set(operationIds).size).toBe(operationIds.length);
  for (const route of allRoutes) {
    const operation = operationOf(route.path, route.method);
    expect(operation.operationId).toBe(route.operationId);
    if ('public' in route.auth) expect(operation.security).toEqual([]);
    for (const status of Object.keys(route.responses)) expect(operation.responses[status]).toBeDefined();
  }
});

test('every inventory collection has the standard operations, and taggable ones the tag sub-resource', () => {
  for (const spec of ENTITIES) {
    const base = `/v1/${spec.collection}`;
    expect(Object.keys(document.paths[base]).sort()).toEqual(['get', 'post']);
    expect(Object.keys(document.paths[`${base}/{id}`]).sort()).toEqual(['delete', 'get', 'patch']);
    if (spec.taggable) expect(Object.keys(document.paths[`${base}/{id}/tags`]).sort()).toEqual(['get', 'put']);
    else expect(document.paths[`${base}/{id}/tags`]).toBeUndefined();
    const listParameters = document.paths[base].get.parameters.map((parameter: any) => parameter.name);
    expect(listParameters).toEqual(expect.arrayContaining(['limit', 'cursor']));
    if (spec.taggable) expect(listParameters).toContain('tag');
    expect(document.paths[`${base}/{id}`].patch.parameters.map((parameter: any) => parameter.name)).toContain('If-Match');
    expect(document.paths[base].post.parameters.map((parameter: any) => parameter.name)).toContain('Idempotency-Key');
  }
});

test('every documented operation answers on the gateway: never "No such route.", never a 5xx', async () => {
  const { send } = h;
  const operations = Object.entries<any>(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ path, method: method.toUpperCase() })),
  );
  // Deletes last, so the reads and writes before them still find the objects.
  operations.sort((x, y) => Number(x.method === 'DELETE') - Number(y.method === 'DELETE'));
  for (const { path, method } of operations) {
    const collection = path.split('/')[2] as string;
    const concrete = path.replace('{id}', real[collection] ?? 'missing').replace('{revision}', '1');
    const body = method === 'PUT' ? { tag_ids: [] } : method === 'PATCH' ? { notes: 'openapi' } : method === 'POST' ? {} : undefined;
    const response = await send(method, concrete, body ? { body } : {});
    expect({
      operation: `${method} ${path}`,
      routeMissing: response.status === 404 && response.body?.error?.message === 'No such route.',
    }).toEqual({
      operation: `${method} ${path}`,
      routeMissing: false,
    });
    expect(response.status).toBeLessThan(500);
    if (method === 'GET')
      expect({ operation: `${method} ${path}`, status: response.status }).toEqual({ operation: `${method} ${path}`, status: 200 });
  }
});

test('documented required fields and object shapes are the ones the API enforces and returns', async () => {
  const { send } = h;
  const schemas = document.components.schemas;
  const resolve = (schema: any) => (schema?.$ref ? schemas[schema.$ref.split('/').pop()] : schema);
  for (const spec of ENTITIES) {
    const base = `/v1/${spec.collection}`;
    const createSchema = resolve(document.paths[base].post.requestBody.content['application/json'].schema);
    expect(createSchema.additionalProperties).toBe(false);
    const body = validBodies[spec.collection] as Record<string, unknown>;
    for (const field of createSchema.required ?? []) {
      if (!(field in body)) continue;
      const { [field]: _omitted, ...rest } = body;
      const response = await send('POST', base, { body: rest });
      expect({ collection: spec.collection, field, status: response.status }).toEqual({ collection: spec.collection, field, status: 400 });
      expect(detailPaths(response)).toContain(field);
    }
    for (const field of Object.keys(body)) expect(Object.keys(createSchema.properties)).toContain(field);

    const itemSchema = resolve(document.paths[`${base}/{id}`].get.responses['200'].content['application/json'].schema);
    const object = await created(send, spec.collection, body);
    const read = await send('GET', `${base}/${object.id}`);
    expect(read.status).toBe(200);
    expect(Object.keys(read.body).sort()).toEqual(Object.keys(itemSchema.properties).sort());
    for (const field of ['id', 'created_at', 'updated_at', 'version']) expect(itemSchema.required).toContain(field);

    const listSchema = resolve(document.paths[base].get.responses['200'].content['application/json'].schema);
    expect(Object.keys(listSchema.properties).sort()).toEqual(['items', 'next_cursor']);
    const listParameters = document.paths[base].get.parameters.filter((parameter: any) => parameter.in === 'query');
    // Every documented query parameter is accepted as a parameter (its value may still be invalid).
    for (const parameter of listParameters) {
      const response = await send('GET', `${base}?${parameter.name}=1`);
      const unknown = (response.body?.error?.details ?? []).filter((detail: any) => detail.message === 'is not a writable field here');
      expect({ parameter: parameter.name, unknown }).toEqual({ parameter: parameter.name, unknown: [] });
    }
  }
});
