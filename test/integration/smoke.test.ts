import { startTestApi, type TestApi } from '../support/api';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api.close());

test('health answers without credentials', async () => {
  const response = await api.request('GET', '/v1/health', { key: null });
  expect(response.status).toBe(200);
  expect(response.body).toEqual({ status: 'ok' });
  expect(response.headers.get('x-request-id')).toBeTruthy();
});

test('a datacenter round-trips', async () => {
  const created = await api.request('POST', '/v1/datacenters', { body: { name: 'Tunis', timezone: 'Africa/Tunis' } });
  expect(created.status).toBe(201);
  const read = await api.request('GET', `/v1/datacenters/${created.body.id}`);
  expect(read.body).toEqual(created.body);
});
