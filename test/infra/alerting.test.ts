/**
 * The alerting resources of the stack (lib/constructs/alerting.ts): topic, per-channel-type DLQs with queue
 * policies and alarms, the subscriber's subscriptions (filter policies, DLQs, on-failure destinations, invoke
 * permissions), the SMS spend limit, and what the monitoring function is given to publish and subscribe.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { allRoutes } from '#shared/routes';
import { InventoryStack } from '../../lib/inventory-stack';

interface Resource {
  Type: string;
  Properties?: Record<string, any>;
}
type Resources = Record<string, Resource>;

const ROOT = path.resolve(__dirname, '..', '..');
const cdkContext = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
const CHANNEL_TYPES = ['email', 'sms', 'slack', 'webhook'] as const;

function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { ...cdkContext, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new InventoryStack(app, 'DcInventoryAlertingTest', { routes: allRoutes });
  const template = Template.fromStack(stack);
  return { template, resources: template.toJSON().Resources as Resources };
}

const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const capitalized = (type: string) => type.charAt(0).toUpperCase() + type.slice(1);
const idOf = (resources: Resources, type: string, prefix: string) => {
  const found = ofType(resources, type).find(([id]) => id.startsWith(prefix));
  if (!found) throw new Error(`no ${type} ${prefix}`);
  return found[0];
};

function statementsOfRole(resources: Resources, functionId: string) {
  const roleId = resources[functionId]?.Properties?.Role?.['Fn::GetAtt']?.[0];
  return ofType(resources, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties?.Roles ?? []).some((r: { Ref: string }) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties?.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
}

describe('alerting with default context', () => {
  const { template, resources } = synth();
  const topicId = idOf(resources, 'AWS::SNS::Topic', 'AlertingTopic');
  const queueId = (type: string) => idOf(resources, 'AWS::SQS::Queue', `Alerting${capitalized(type)}DeadLetterQueue`);

  test('one standard topic, encrypted with the AWS-managed SNS key, TLS enforced', () => {
    const topics = ofType(resources, 'AWS::SNS::Topic');
    expect(topics).toHaveLength(1);
    const props = topics[0]![1].Properties!;
    expect(props.FifoTopic).toBeUndefined();
    expect(JSON.stringify(props.KmsMasterKeyId)).toContain('alias/aws/sns');
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  test.each(CHANNEL_TYPES)('%s: an encrypted DLQ only the topic may write to, with an alarm on visible messages', (type) => {
    const id = queueId(type);
    expect(resources[id]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'sns.amazonaws.com' },
            Resource: { 'Fn::GetAtt': [id, 'Arn'] },
            Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topicId } } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  test('exactly four alerting DLQs and four alarms on them', () => {
    const mine = (type: string) => ofType(resources, type).filter(([id]) => id.startsWith('Alerting'));
    expect(mine('AWS::SQS::Queue')).toHaveLength(4);
    expect(mine('AWS::CloudWatch::Alarm')).toHaveLength(4);
  });

  test.each(['slack', 'webhook'])(
    '%s: the subscriber alias is subscribed with a channel filter, a DLQ and an on-failure destination',
    (type) => {
      const aliasId = idOf(resources, 'AWS::Lambda::Alias', `Alerting${capitalized(type)}Alias`);
      expect(resources[aliasId]!.Properties).toMatchObject({ Name: type });
      template.hasResourceProperties('AWS::SNS::Subscription', {
        TopicArn: { Ref: topicId },
        Protocol: 'lambda',
        Endpoint: { Ref: aliasId },
        FilterPolicy: { channel: [type] },
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [queueId(type), 'Arn'] } },
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'sns.amazonaws.com',
        SourceArn: { Ref: topicId },
        FunctionName: { Ref: aliasId },
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        Qualifier: Match.anyValue(),
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId(type), 'Arn'] } } },
      });
    },
  );

  test('no static email or SMS subscriptions without alertOpsEmail (they follow the alert rules at run time)', () => {
    const protocols = ofType(resources, 'AWS::SNS::Subscription').map(([, r]) => r.Properties?.Protocol);
    expect(protocols.sort()).toEqual(['lambda', 'lambda']);
  });

  test('subscriber: node 22 on arm64, its own log group, and only the delivery-claim table actions', () => {
    const fnId = idOf(resources, 'AWS::Lambda::Function', 'AlertingSubscriber');
    expect(resources[fnId]!.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 30,
    });
    expect(resources[fnId]!.Properties?.LoggingConfig?.LogGroup).toEqual({
      Ref: idOf(resources, 'AWS::Logs::LogGroup', 'AlertingSubscriberLogs'),
    });
    const actions = statementsOfRole(resources, fnId).flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(actions.filter((a) => a.startsWith('sqs:'))).toEqual(expect.arrayContaining(['sqs:SendMessage']));
    expect(actions.some((a) => a.startsWith('secretsmanager:') || a.startsWith('sns:'))).toBe(false);
  });

  test('the SMS monthly spend limit is set by a custom resource (default 10), with the bundled SDK', () => {
    const custom = ofType(resources, 'Custom::AWS');
    expect(custom).toHaveLength(1);
    const props = custom[0]![1].Properties!;
    expect(props.InstallLatestAwsSdk).toBe(false);
    for (const phase of ['Create', 'Update']) {
      const call = JSON.parse(props[phase]);
      expect(call).toMatchObject({ service: 'SNS', action: 'setSMSAttributes', parameters: { attributes: { MonthlySpendLimit: '10' } } });
    }
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'sns:SetSMSAttributes', Resource: '*' })] },
    });
  });

  test('monitoring function: topic ARN and DLQ ARNs in env, publish and subscription management on the topic only', () => {
    const fnId = idOf(resources, 'AWS::Lambda::Function', 'FunctionsMonitoringFunction');
    const env = resources[fnId]!.Properties?.Environment?.Variables;
    expect(env.ALERTS_TOPIC_ARN).toEqual({ Ref: topicId });
    const dlqs = JSON.stringify(env.ALERT_DLQ_ARNS);
    expect(dlqs).toContain(queueId('email'));
    expect(dlqs).toContain(queueId('sms'));
    const statements = statementsOfRole(resources, fnId);
    const sns = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('sns:')));
    expect(sns).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: topicId } }),
        expect.objectContaining({
          Action: ['sns:SetSubscriptionAttributes', 'sns:Subscribe', 'sns:Unsubscribe'],
          Resource: [{ 'Fn::Join': ['', [{ Ref: topicId }, ':*']] }, { Ref: topicId }],
        }),
      ]),
    );
    // Other API functions do not publish.
    const inventory = statementsOfRole(resources, idOf(resources, 'AWS::Lambda::Function', 'FunctionsInventoryFunction'));
    expect(inventory.flatMap((s) => [s.Action].flat()).some((a) => a.startsWith('sns:'))).toBe(false);
  });
});

test('alertOpsEmail adds an email subscription for critical alerts with the email DLQ; smsMonthlySpendLimit is honoured', () => {
  const { template, resources } = synth({ alertOpsEmail: 'ops@example.com', smsMonthlySpendLimit: '5' });
  const topicId = idOf(resources, 'AWS::SNS::Topic', 'AlertingTopic');
  const emailQueue = idOf(resources, 'AWS::SQS::Queue', 'AlertingEmailDeadLetterQueue');
  template.hasResourceProperties('AWS::SNS::Subscription', {
    TopicArn: { Ref: topicId },
    Protocol: 'email',
    Endpoint: 'ops@example.com',
    FilterPolicy: { severity: ['critical'] },
    RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [emailQueue, 'Arn'] } },
  });
  const custom = ofType(resources, 'Custom::AWS')[0]![1].Properties!;
  expect(JSON.parse(custom.Create).parameters.attributes.MonthlySpendLimit).toBe('5');
});
