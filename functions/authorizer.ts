/**
 * API Gateway REQUEST authorizer. Any bad credential throws `Unauthorized`, which API Gateway answers with the
 * same 401 body every time. The policy covers every method of the stage because API Gateway caches it per key
 * for every route (TTL 60 s, see lib/).
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authenticateApiKey } from '#shared/auth/api-keys';
import { serverSecrets } from '#shared/config';
import { describeError, log } from '#shared/log';

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const key = headerValue(event.headers, 'x-api-key');
  let principal: Awaited<ReturnType<typeof authenticateApiKey>>;
  try {
    principal = await authenticateApiKey(key);
  } catch (error) {
    log.error('authorizer failed', describeError(error));
    throw new Error('Unauthorized');
  }
  if (!principal) {
    log.info('credentials refused', { request_id: event.requestContext?.requestId, source_ip: event.requestContext?.identity?.sourceIp });
    throw new Error('Unauthorized');
  }
  const secrets = await serverSecrets();
  return {
    principalId: principal.id,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageWildcard(event.methodArn) }],
    },
    context: { principal: JSON.stringify(principal) },
    ...(secrets.usage_plan_key ? { usageIdentifierKey: secrets.usage_plan_key } : {}),
  };
}

// arn:aws:execute-api:region:account:api/stage/GET/v1/servers -> the same ARN with every method and path of the stage.
export function stageWildcard(methodArn: string): string {
  const [prefix, stage] = methodArn.split('/');
  return `${prefix}/${stage}/*/*`;
}

function headerValue(headers: APIGatewayRequestAuthorizerEvent['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === name && value) return value;
  return undefined;
}
