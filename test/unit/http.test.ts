import { parseIfMatch } from '#functions/commons/http-handler';
import { stageWildcard } from '#functions/authorizer';
import { compileRoutes, matchRoute } from '#local/server';
import { auditChanges } from '#shared/db/audit';
import type { RouteDefinition } from '#shared/http/route';

describe('If-Match', () => {
  test.each([
    ['"3"', 3],
    ['W/"12"', 12],
    ['7', 7],
    [' "4" ', 4],
  ])('%s is version %s', (header, version) => expect(parseIfMatch(header)).toBe(version));
  test('absent or * matches any version', () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch('*')).toBeUndefined();
  });
  test.each(['"abc"', '', '"1", "2"', '-1'])('%s never matches', (header) => expect(parseIfMatch(header)).toBeNull());
});

describe('authorizer policy', () => {
  test('covers every method and path of the stage, so a cached answer fits every route', () => {
    expect(stageWildcard('arn:aws:execute-api:eu-west-1:123:abc/prod/GET/v1/servers/x')).toBe(
      'arn:aws:execute-api:eu-west-1:123:abc/prod/*/*',
    );
  });
});

describe('local route matching', () => {
  const route = (method: RouteDefinition['method'], path: string) => ({ method, path }) as RouteDefinition;
  const compiled = compileRoutes([route('GET', '/v1/things/{id}'), route('GET', '/v1/things/active'), route('DELETE', '/v1/things/{id}')]);
  test('literal segments win over parameters', () => {
    expect(matchRoute(compiled, 'GET', '/v1/things/active').route?.path).toBe('/v1/things/active');
    expect(matchRoute(compiled, 'GET', '/v1/things/42').pathParameters).toEqual({ id: '42' });
  });
  test('a known path with another method matches nothing', () => {
    expect(matchRoute(compiled, 'PUT', '/v1/things/42').route).toBeUndefined();
  });
});

describe('audit diff', () => {
  const base = { id: 'x', created_at: 't', updated_at: 't', version: 1 };
  test('holds only the changed fields and skips bookkeeping', () => {
    const changes = auditChanges({ ...base, name: 'a', site: 'b' }, { ...base, version: 2, updated_at: 'u', name: 'c', site: 'b' });
    expect(changes).toEqual({ name: { before: 'a', after: 'c' } });
  });
  test('redacts secret-looking fields', () => {
    const changes = auditChanges({ ...base, password_hash: 'old' }, { ...base, password_hash: 'new' });
    expect(changes).toEqual({ password_hash: { before: '[redacted]', after: '[redacted]' } });
  });
  test('a create lists every field as after', () => {
    expect(auditChanges(undefined, { ...base, name: 'a' })).toMatchObject({
      id: { before: null, after: 'x' },
      name: { before: null, after: 'a' },
    });
  });
});
