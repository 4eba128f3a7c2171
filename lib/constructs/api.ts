/**
 * The REST API, built from the route table: one resource per path, one method per route, each proxied to its
 * domain's function. Non-public routes go through the REQUEST authorizer and need the usage-plan key it returns.
 */
import { Duration } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ERROR_STATUS, type ErrorCode, UNAUTHORIZED_MESSAGE } from '#shared/http/errors';
import type { Domain, RouteDefinition } from '#shared/http/route';
import { SERVER_SECRET_KEYS } from './data';
import { LOG_RETENTION } from './functions';

export const STAGE_NAME = 'prod';
export const API_KEY_HEADER = 'x-api-key';
/**
 * API Gateway's authorizer result cache is off: a credential comes either as x-api-key or as Authorization: Bearer,
 * and a cached REQUEST authorizer rejects requests missing any identity source. The authorizer's own in-process
 * cache (AUTHORIZER_CACHE_TTL_SECONDS, default 10 s, at most 60 s) bounds how late a revocation takes effect.
 */
export const AUTHORIZER_CACHE_TTL = Duration.seconds(0);
export const METHOD_THROTTLE = { rateLimit: 100, burstLimit: 200 } as const;
export const USAGE_PLAN_THROTTLE = { rateLimit: 100, burstLimit: 200 } as const;

/** Gateway-generated errors, shaped like the API's own `{"error":{code,message,details}}` bodies. */
const GATEWAY_ERRORS: ReadonlyArray<{ id: string; type: apigateway.ResponseType; code: ErrorCode; message: string }> = [
  { id: 'Unauthorized', type: apigateway.ResponseType.UNAUTHORIZED, code: 'unauthorized', message: UNAUTHORIZED_MESSAGE },
  { id: 'ExpiredToken', type: apigateway.ResponseType.EXPIRED_TOKEN, code: 'unauthorized', message: UNAUTHORIZED_MESSAGE },
  { id: 'AccessDenied', type: apigateway.ResponseType.ACCESS_DENIED, code: 'forbidden', message: 'Access denied.' },
  // The usage-plan key handed back by the authorizer is not accepted: a deployment fault, never the caller's.
  { id: 'InvalidApiKey', type: apigateway.ResponseType.INVALID_API_KEY, code: 'forbidden', message: 'Access denied.' },
  // API Gateway answers an unknown path or method with MISSING_AUTHENTICATION_TOKEN.
  { id: 'UnknownRoute', type: apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, code: 'not_found', message: 'No such route.' },
  { id: 'ResourceNotFound', type: apigateway.ResponseType.RESOURCE_NOT_FOUND, code: 'not_found', message: 'No such route.' },
  { id: 'Throttled', type: apigateway.ResponseType.THROTTLED, code: 'too_many_requests', message: 'Too many requests; slow down.' },
  { id: 'QuotaExceeded', type: apigateway.ResponseType.QUOTA_EXCEEDED, code: 'too_many_requests', message: 'Request quota exceeded.' },
  {
    id: 'RequestTooLarge',
    type: apigateway.ResponseType.REQUEST_TOO_LARGE,
    code: 'payload_too_large',
    message: 'The request is too large.',
  },
  {
    id: 'UnsupportedMediaType',
    type: apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE,
    code: 'unsupported_media_type',
    message: 'Unsupported media type.',
  },
  // Gateway messages ($context.error.messageString) describe API Gateway internals; never echoed.
  { id: 'Default4xx', type: apigateway.ResponseType.DEFAULT_4XX, code: 'validation_error', message: 'The request is not valid.' },
  { id: 'Default5xx', type: apigateway.ResponseType.DEFAULT_5XX, code: 'internal_error', message: 'Internal error.' },
];

export interface InventoryApiProps {
  readonly routes: readonly RouteDefinition[];
  readonly functions: Record<Domain, lambda.IFunction>;
  readonly authorizerFunction: lambda.IFunction;
  readonly serverSecrets: secretsmanager.ISecret;
}

export class InventoryApi extends Construct {
  readonly api: apigateway.RestApi;

  constructor(scope: Construct, id: string, props: InventoryApiProps) {
    super(scope, id);

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: LOG_RETENTION });
    this.api = new apigateway.RestApi(this, 'RestApi', {
      restApiName: 'dc-inventory',
      description: 'Datacenter inventory API',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      apiKeySourceType: apigateway.ApiKeySourceType.AUTHORIZER,
      disableExecuteApiEndpoint: false,
      // Access logging needs the account-level API Gateway CloudWatch role; this creates it (and retains it).
      cloudWatchRole: true,
      deployOptions: {
        stageName: STAGE_NAME,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        metricsEnabled: true,
        dataTraceEnabled: false,
        throttlingRateLimit: METHOD_THROTTLE.rateLimit,
        throttlingBurstLimit: METHOD_THROTTLE.burstLimit,
      },
    });

    // Created on first use: an authorizer attached to no method fails synthesis.
    let authorizer: apigateway.RequestAuthorizer | undefined;
    const authorizerFor = () => {
      authorizer ??= new apigateway.RequestAuthorizer(this, 'ApiKeyAuthorizer', {
        handler: props.authorizerFunction,
        identitySources: [],
        resultsCacheTtl: AUTHORIZER_CACHE_TTL,
      });
      return authorizer;
    };

    // One integration per function. scopePermissionToMethod:false makes LambdaIntegration add a single
    // AWS::Lambda::Permission per function for `<api>/*/*/*` instead of one (or two, with test invoke) per method.
    const integrations = new Map<Domain, apigateway.LambdaIntegration>();
    const integrationFor = (domain: Domain) => {
      let integration = integrations.get(domain);
      if (!integration) {
        integration = new apigateway.LambdaIntegration(props.functions[domain], { proxy: true, scopePermissionToMethod: false });
        integrations.set(domain, integration);
      }
      return integration;
    };

    const seen = new Set<string>();
    for (const route of props.routes) {
      const key = `${route.method} ${route.path}`;
      if (seen.has(key)) throw new Error(`Duplicate route ${key}`);
      seen.add(key);
      if (!route.path.startsWith('/')) throw new Error(`Route path must start with '/': ${route.path}`);

      const resource = this.api.root.resourceForPath(route.path);
      const isPublic = 'public' in route.auth && route.auth.public;
      resource.addMethod(
        route.method,
        integrationFor(route.domain),
        isPublic
          ? { operationName: route.operationId, authorizationType: apigateway.AuthorizationType.NONE, apiKeyRequired: false }
          : {
              operationName: route.operationId,
              authorizationType: apigateway.AuthorizationType.CUSTOM,
              authorizer: authorizerFor(),
              apiKeyRequired: true,
            },
      );
    }

    for (const error of GATEWAY_ERRORS) {
      this.api.addGatewayResponse(error.id, {
        type: error.type,
        statusCode: String(ERROR_STATUS[error.code]),
        templates: {
          'application/json': JSON.stringify({ error: { code: error.code, message: error.message, details: [] } }),
        },
      });
    }

    // The authorizer returns the secret's usage_plan_key as usageIdentifierKey; API Gateway matches it to this key.
    const plan = this.api.addUsagePlan('UsagePlan', {
      name: 'dc-inventory',
      description: 'All API key callers (the authorizer maps each caller to the one usage-plan key).',
      throttle: USAGE_PLAN_THROTTLE,
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    const apiKey = new apigateway.ApiKey(this, 'UsagePlanKey', {
      description: 'Usage-plan key returned by the authorizer (value from the server secret)',
      enabled: true,
      value: props.serverSecrets.secretValueFromJson(SERVER_SECRET_KEYS.usagePlanKey).unsafeUnwrap(),
    });
    plan.addApiKey(apiKey);
  }
}
