/**
 * API Gateway REQUEST authorizer for `x-api-key` and `Authorization: Bearer`. Any bad credential throws
 * `Unauthorized`, which API Gateway answers with the same 401 body every time. The policy covers every method of
 * the stage; API Gateway's own result cache is off (two possible credential headers), and the in-process cache of
 * `authenticate` bounds how late a revocation takes effect (README "Credentials").
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authenticate } from '#shared/auth/authenticate';
import { serverSecrets } from '#shared/config';
import { describeError, log } from '#shared/log';

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const sourceIp = event.requestContext?.identity?.sourceIp ?? '';
  let principal: Awaited<ReturnType<typeof authenticate>>;
  try {
    principal = await authenticate({
      apiKey: headerValue(event.headers, 'x-api-key'),
      authorization: headerValue(event.headers, 'authorization'),
      sourceIp,
    });
  } catch (error) {
    log.error('authorizer failed', describeError(error));
    throw new Error('Unauthorized');
  }
  if (!principal) {
    log.info('credentials refused', { request_id: event.requestContext?.requestId, source_ip: sourceIp });
    throw new Error('Unauthorized');
  }
  const secrets = await serverSecrets();
  return {
    principalId: principal.user_id ?? principal.id,
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
