/**
 * Synthesises the stack (bundling skipped) and checks the properties the design relies on: table shape from
 * shared/db/table.ts, auth on every route, runtimes, least-privilege IAM and the CloudFormation resource budget.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { INDEXES, KEY_ATTRIBUTES } from '#shared/db/table';
import { DOMAINS, type RouteDefinition } from '#shared/http/route';
import { allRoutes } from '#shared/routes';
import { InventoryStack } from '../../lib/inventory-stack';

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

const ROOT = path.resolve(__dirname, '..', '..');
const cdkContext = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;

function synth(routes: readonly RouteDefinition[]) {
  const started = Date.now();
  const app = new App({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] } });
  const stack = new InventoryStack(app, 'DcInventoryTest', { routes });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Resources, ms: Date.now() - started };
}

const isPublic = (route: RouteDefinition) => 'public' in route.auth && route.auth.public === true;
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** Method constructs of the stack with their path, HTTP method and synthesized properties. */
function methods(stack: Stack, resources: Resources) {
  return stack.node
    .findAll()
    .filter((c): c is apigateway.Method => c instanceof apigateway.Method)
    .map((method) => {
      const logicalId = stack.getLogicalId(method.node.defaultChild as apigateway.CfnMethod);
      return { key: `${method.httpMethod} ${method.resource.path}`, props: resources[logicalId]?.Properties ?? {} };
    });
}

/** All IAM statements attached to the role of the function whose logical id starts with `prefix`. */
function roleStatements(resources: Resources, functionPrefix: string) {
  const fn = ofType(resources, 'AWS::Lambda::Function').find(([id]) => id.startsWith(functionPrefix));
  if (!fn) throw new Error(`no function ${functionPrefix}`);
  const roleId = fn[1].Properties?.Role?.['Fn::GetAtt']?.[0];
  expect(roleId).toBeDefined();
  const role = resources[roleId];
  const inline = (role?.Properties?.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
  const attached = ofType(resources, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties?.Roles ?? []).some((r: any) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties?.PolicyDocument.Statement);
  return [...inline, ...attached] as Array<{ Action: string | string[]; Resource: unknown; Effect: string }>;
}
const actionsOf = (statements: Array<{ Action: string | string[] }>) => statements.flatMap((s) => [s.Action].flat());

// A fixed route table exercising both domains, nesting and both auth kinds, independent of the real one.
const fixtureRoutes = [
  { operationId: 'health', method: 'GET', path: '/v1/health', domain: 'platform', auth: { public: true } },
  { operationId: 'openapi', method: 'GET', path: '/v1/openapi.json', domain: 'platform', auth: { public: true } },
  { operationId: 'listServers', method: 'GET', path: '/v1/servers', domain: 'inventory', auth: { scope: 'inventory:read' } },
  { operationId: 'createServer', method: 'POST', path: '/v1/servers', domain: 'inventory', auth: { scope: 'inventory:write' } },
  { operationId: 'getServer', method: 'GET', path: '/v1/servers/{id}', domain: 'inventory', auth: { scope: 'inventory:read' } },
  { operationId: 'patchServer', method: 'PATCH', path: '/v1/servers/{id}', domain: 'inventory', auth: { scope: 'inventory:write' } },
  { operationId: 'serverVms', method: 'GET', path: '/v1/servers/{id}/vms', domain: 'inventory', auth: { scope: 'inventory:read' } },
] as unknown as RouteDefinition[];

test('only health and the OpenAPI document are public in the real route table', () => {
  expect(
    allRoutes
      .filter(isPublic)
      .map((r) => r.operationId)
      .sort(),
  ).toEqual(['health', 'login', 'openapi']);
});

describe.each([
  ['allRoutes', allRoutes],
  ['fixture routes', fixtureRoutes],
])('InventoryStack with %s', (_name, routes) => {
  const { stack, template, resources, ms } = synth(routes);

  test('synthesizes quickly and stays far below the 500-resource limit', () => {
    const count = Object.keys(resources).length;
    console.log(`[infra] ${_name}: ${routes.length} routes -> ${count} CloudFormation resources, synth ${ms} ms`);
    // Routes, data, alerting, and the sync VPC, VPN, endpoints, worker and dispatcher (about 46 of them).
    expect(count).toBeLessThan(350);
  });

  test('table is built from shared/db/table.ts', () => {
    const tables = ofType(resources, 'AWS::DynamoDB::GlobalTable');
    expect(tables).toHaveLength(1);
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: KEY_ATTRIBUTES.partitionKey, KeyType: 'HASH' },
        { AttributeName: KEY_ATTRIBUTES.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: Object.values(INDEXES).map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
      TimeToLiveSpecification: { AttributeName: KEY_ATTRIBUTES.timeToLive, Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      Replicas: [
        Match.objectLike({
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
    const definitions = tables[0]![1].Properties?.AttributeDefinitions as Array<{ AttributeName: string; AttributeType: string }>;
    const expected = [
      KEY_ATTRIBUTES.partitionKey,
      KEY_ATTRIBUTES.sortKey,
      ...Object.values(INDEXES).flatMap((i) => [i.partitionKey, i.sortKey]),
    ];
    expect(definitions.map((d) => d.AttributeName).sort()).toEqual([...expected].sort());
    expect(definitions.every((d) => d.AttributeType === 'S')).toBe(true);
  });

  test('server secret holds cursor_key, api_key_pepper and a generated usage_plan_key', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'usage_plan_key', ExcludePunctuation: true }),
    });
    const server = ofType(resources, 'AWS::SecretsManager::Secret').find(
      ([, r]) => r.Properties?.GenerateSecretString?.GenerateStringKey === 'usage_plan_key',
    );
    const templateJson = JSON.stringify(server?.[1].Properties?.GenerateSecretString.SecretStringTemplate);
    expect(templateJson).toContain('cursor_key');
    expect(templateJson).toContain('api_key_pepper');
    expect(templateJson).toContain('{{resolve:secretsmanager:');
  });

  test('one method per route; public routes open, all others behind the authorizer and a key', () => {
    const found = methods(stack, resources);
    expect(ofType(resources, 'AWS::ApiGateway::Method')).toHaveLength(routes.length);
    expect(found.map((m) => m.key).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    const byKey = new Map(found.map((m) => [m.key, m.props]));
    for (const route of routes) {
      const props = byKey.get(`${route.method} ${route.path}`)!;
      if (isPublic(route)) {
        expect({ route: route.operationId, auth: props.AuthorizationType, key: props.ApiKeyRequired ?? false }).toEqual({
          route: route.operationId,
          auth: 'NONE',
          key: false,
        });
        expect(props.AuthorizerId).toBeUndefined();
      } else {
        expect({ route: route.operationId, auth: props.AuthorizationType, key: props.ApiKeyRequired }).toEqual({
          route: route.operationId,
          auth: 'CUSTOM',
          key: true,
        });
        expect(props.AuthorizerId).toBeDefined();
      }
      expect(props.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
    }
  });

  test('one Lambda permission per function, not per method', () => {
    // API Gateway's permissions only: SNS's permissions to invoke the alert subscriber are checked in alerting.test.ts.
    // The sync dispatcher's EventBridge permission is checked in sync-network.test.ts.
    const fromApi = ofType(resources, 'AWS::Lambda::Permission').filter(
      ([, p]) => !['sns.amazonaws.com', 'events.amazonaws.com'].includes(p.Properties?.Principal),
    );
    expect(fromApi.length).toBeLessThanOrEqual(DOMAINS.length + 1);
  });

  test('authorizer: REQUEST, no API Gateway result cache (two credential headers), so revocation is not delayed there', () => {
    const authorizers = ofType(resources, 'AWS::ApiGateway::Authorizer');
    expect(authorizers).toHaveLength(1);
    const props = authorizers[0]![1].Properties!;
    expect(props.Type).toBe('REQUEST');
    expect(props.IdentitySource ?? '').toBe('');
    expect(props.AuthorizerResultTtlInSeconds).toBe(0);
  });

  test('REST API, stage, usage plan and key', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      ApiKeySourceType: 'AUTHORIZER',
      EndpointConfiguration: { Types: ['REGIONAL'] },
      DisableExecuteApiEndpoint: false,
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          MetricsEnabled: true,
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
        }),
      ],
    });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: Match.anyValue(), BurstLimit: Match.anyValue() },
      ApiStages: [Match.objectLike({ Stage: Match.anyValue() })],
    });
    const keys = ofType(resources, 'AWS::ApiGateway::ApiKey');
    expect(keys).toHaveLength(1);
    expect(JSON.stringify(keys[0]![1].Properties?.Value)).toContain(':SecretString:usage_plan_key::}}');
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
  });

  test('gateway responses follow the JSON error contract', () => {
    const expected: Record<string, [string, string]> = {
      UNAUTHORIZED: ['401', 'unauthorized'],
      ACCESS_DENIED: ['403', 'forbidden'],
      MISSING_AUTHENTICATION_TOKEN: ['404', 'not_found'],
      THROTTLED: ['429', 'too_many_requests'],
      QUOTA_EXCEEDED: ['429', 'too_many_requests'],
      REQUEST_TOO_LARGE: ['413', 'payload_too_large'],
      DEFAULT_4XX: ['400', 'validation_error'],
      DEFAULT_5XX: ['500', 'internal_error'],
    };
    const responses = new Map(
      ofType(resources, 'AWS::ApiGateway::GatewayResponse').map(([, r]) => [r.Properties?.ResponseType, r.Properties!]),
    );
    for (const [type, [status, code]] of Object.entries(expected)) {
      const response = responses.get(type);
      expect({ type, status: response?.StatusCode }).toEqual({ type, status });
      const body = JSON.parse(response?.ResponseTemplates['application/json']);
      expect(body).toEqual({ error: { code, message: expect.any(String), details: [] } });
    }
    expect(JSON.parse(responses.get('UNAUTHORIZED')?.ResponseTemplates['application/json']).error.message).toBe(
      'Missing or invalid credentials.',
    );
  });

  test('functions: node 22+ on arm64, explicit log groups with retention, expected env', () => {
    const everyFunction = ofType(resources, 'AWS::Lambda::Function');
    for (const [id, fn] of everyFunction) {
      const runtime = String(fn.Properties?.Runtime);
      const major = Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]);
      expect({ id, major: major >= 22 }).toEqual({ id, major: true });
    }
    // Ours: one per domain, the authorizer and the bootstrap-key custom resource (the CDK provider framework adds its own).
    const functions = everyFunction.filter(([id]) => id.startsWith('Functions'));
    expect(functions).toHaveLength(DOMAINS.length + 2);
    for (const [id, fn] of functions) {
      expect(fn.Properties?.Architectures).toEqual(['arm64']);
      expect(fn.Properties?.LoggingConfig?.LogGroup).toBeDefined();
      expect(Object.keys(fn.Properties?.Environment?.Variables ?? {})).toEqual(
        expect.arrayContaining(['TABLE_NAME', 'SERVER_SECRETS_ARN', 'NODE_OPTIONS']),
      );
      // The sync routes' connection test waits for the VPC worker's vCenter login: under API Gateway's 29 s.
      if (id.startsWith('FunctionsSyncFunction')) expect(fn.Properties?.Timeout).toBeLessThan(29);
      else if (!id.startsWith('FunctionsBootstrap')) expect(fn.Properties?.Timeout).toBeLessThanOrEqual(10);
    }
    for (const [, group] of ofType(resources, 'AWS::Logs::LogGroup')) {
      expect(group.Properties?.RetentionInDays).toBeGreaterThan(0);
    }
  });

  test('a custom resource registers the bootstrap admin key from its generated secret', () => {
    const custom = ofType(resources, 'AWS::CloudFormation::CustomResource');
    expect(custom).toHaveLength(1);
    const bootstrapFn = ofType(resources, 'AWS::Lambda::Function').find(([id]) => id.startsWith('FunctionsBootstrapAdminKey'));
    expect(bootstrapFn?.[1].Properties?.Environment?.Variables?.ADMIN_API_KEY_SECRET_ARN).toBeDefined();
    const bootstrapActions = actionsOf(roleStatements(resources, 'FunctionsBootstrapAdminKeyFunction'));
    expect(bootstrapActions).not.toContain('dynamodb:Query');
    expect(bootstrapActions).not.toContain('dynamodb:DeleteItem');
  });

  test('IAM: least privilege on the table', () => {
    const all = ofType(resources, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties?.PolicyDocument.Statement) as Array<{
      Action: string | string[];
      Resource: unknown;
    }>;
    for (const statement of all) {
      const actions = [statement.Action].flat();
      expect(actions).not.toContain('*');
      if (actions.some((a) => a.startsWith('dynamodb:'))) {
        expect([statement.Resource].flat()).not.toContain('*');
        expect(actions.some((a) => a === 'dynamodb:*' || a === 'dynamodb:Scan')).toBe(false);
      }
    }

    const authorizer = actionsOf(roleStatements(resources, 'FunctionsAuthorizerFunction'));
    expect(authorizer).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue']));
    for (const forbidden of ['dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(authorizer).not.toContain(forbidden);
    }
    const authorizerResources = JSON.stringify(roleStatements(resources, 'FunctionsAuthorizerFunction'));
    expect(authorizerResources).not.toContain('/index/');

    const platform = actionsOf(roleStatements(resources, 'FunctionsPlatformFunction'));
    expect(platform.filter((a) => a.startsWith('dynamodb:') || a.startsWith('secretsmanager:'))).toEqual([]);

    const inventory = actionsOf(roleStatements(resources, 'FunctionsInventoryFunction'));
    expect(inventory).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:PutItem', 'secretsmanager:GetSecretValue']));
    expect(inventory).not.toContain('dynamodb:Scan');
  });
});
