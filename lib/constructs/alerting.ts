/**
 * Alert notification fan-out on AWS: one standard SNS topic (FIFO topics take only SQS subscribers, and email,
 * SMS and Lambda are needed), one dead-letter queue per channel type with an alarm each, the subscriber Lambda
 * that posts to Slack and webhooks, and the account's SMS monthly spend limit.
 *
 * Subscriptions: Slack and webhook messages reach the subscriber through two aliases (`slack`, `webhook`), each
 * subscribed here with a `channel` filter policy and its own DLQ. SNS allows one subscription per endpoint, and an
 * alias is a distinct endpoint, so each type gets its own DLQ. Email and SMS endpoints are runtime data (the
 * alert rules): the monitoring function subscribes them (shared/domains/monitoring/subscriptions.ts) with
 * the DLQ ARNs it gets in ALERT_DLQ_ARNS.
 */
import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { CHANNEL_TYPES, type ChannelType } from '#shared/domains/monitoring/alert-configuration';
import { BUNDLING, LAMBDA_RUNTIME, LOG_RETENTION, PROJECT_ROOT } from './functions';

export const DEFAULT_SMS_MONTHLY_SPEND_LIMIT = '10';

export interface AlertingProps {
  readonly table: dynamodb.ITableV2;
}

export class Alerting extends Construct {
  readonly topic: sns.Topic;
  readonly subscriber: nodejs.NodejsFunction;
  readonly deadLetterQueues: Record<ChannelType, sqs.Queue>;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'dc-inventory alerts',
      // SSE with the AWS-managed key: publishers need no KMS grant of their own.
      masterKey: kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });

    const queues: Partial<Record<ChannelType, sqs.Queue>> = {};
    for (const type of CHANNEL_TYPES) {
      const queue = new sqs.Queue(this, `${capitalize(type)}DeadLetterQueue`, {
        // SSE-SQS, not a KMS key: SNS can only write to a KMS-encrypted queue whose key policy admits it.
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      // Runtime subscriptions (email, SMS) name this queue in their RedrivePolicy; only our topic may write to it.
      queue.addToResourcePolicy(
        new iam.PolicyStatement({
          actions: ['sqs:SendMessage'],
          principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
          resources: [queue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': this.topic.topicArn } },
        }),
      );
      new cloudwatch.Alarm(this, `${capitalize(type)}DeadLetterAlarm`, {
        alarmDescription: `dc-inventory: ${type} alert notifications failed delivery and were dead-lettered`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      queues[type] = queue;
    }
    this.deadLetterQueues = queues as Record<ChannelType, sqs.Queue>;

    const logGroup = new logs.LogGroup(this, 'SubscriberLogs', { retention: LOG_RETENTION });
    this.subscriber = new nodejs.NodejsFunction(this, 'Subscriber', {
      entry: path.join(PROJECT_ROOT, 'functions/alert-subscriber.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // Three attempts of at most 5 s each plus backoff.
      timeout: Duration.seconds(30),
      description: 'dc-inventory alert notifications to Slack and webhooks',
      logGroup,
      environment: { TABLE_NAME: props.table.tableName, NODE_OPTIONS: '--enable-source-maps', LOG_LEVEL: 'info' },
      bundling: BUNDLING,
    });
    // Delivery claims only (shared/domains/monitoring/delivery-store.ts): conditional put, update, delete.
    this.subscriber.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.table.tableArn],
      }),
    );

    for (const type of ['slack', 'webhook'] as const) {
      // SNS invokes Lambda asynchronously: a handler failure is retried by Lambda and then sent to the alias's
      // on-failure destination; the subscription's DLQ only sees invocations SNS could not make. Both are the
      // same queue, so every undelivered notification of the type ends up (and alarms) in one place.
      const alias = new lambda.Alias(this, `${capitalize(type)}Alias`, {
        aliasName: type,
        version: this.subscriber.currentVersion,
        retryAttempts: 2,
        onFailure: new destinations.SqsDestination(this.deadLetterQueues[type]),
      });
      this.topic.addSubscription(
        new subscriptions.LambdaSubscription(alias, {
          filterPolicy: { channel: sns.SubscriptionFilter.stringFilter({ allowlist: [type] }) },
          deadLetterQueue: this.deadLetterQueues[type],
        }),
      );
    }
    // cfn-lint expects an unqualified function ARN for protocol `lambda`; SNS accepts (and documents) alias ARNs.
    Validations.of(this).acknowledge({
      id: 'CloudFormation-Validate::W3694',
      reason: 'SNS lambda subscriptions to function aliases are supported; the aliases give each channel type its own DLQ',
    });

    const opsEmail = this.node.tryGetContext('alertOpsEmail') as string | undefined;
    if (opsEmail) {
      this.topic.addSubscription(
        new subscriptions.EmailSubscription(opsEmail, {
          filterPolicy: { severity: sns.SubscriptionFilter.stringFilter({ allowlist: ['critical'] }) },
          deadLetterQueue: this.deadLetterQueues.email,
        }),
      );
    }

    // An account-wide SNS setting, so a custom resource rather than a per-subscription attribute. The value must
    // not exceed the account's SMS spending quota (AWS starts new accounts at USD 1) or the deployment fails.
    const spendLimit = String(this.node.tryGetContext('smsMonthlySpendLimit') ?? DEFAULT_SMS_MONTHLY_SPEND_LIMIT);
    const setSpendLimit: cr.AwsSdkCall = {
      service: 'SNS',
      action: 'setSMSAttributes',
      parameters: { attributes: { MonthlySpendLimit: spendLimit } },
      physicalResourceId: cr.PhysicalResourceId.of('dc-inventory-sms-spend-limit'),
    };
    new cr.AwsCustomResource(this, 'SmsSpendLimit', {
      onCreate: setSpendLimit,
      onUpdate: setSpendLimit,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        // SetSMSAttributes has no resource-level permissions.
        new iam.PolicyStatement({ actions: ['sns:SetSMSAttributes'], resources: ['*'] }),
      ]),
    });
  }

  /** A function that raises alerts (and so may publish notifications). */
  grantPublish(fn: lambda.Function): void {
    fn.addEnvironment('ALERTS_TOPIC_ARN', this.topic.topicArn);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
  }

  /** The function serving /v1/alert-configurations: publishes and keeps the email/SMS subscriptions in step. */
  grantManage(fn: lambda.Function): void {
    this.grantPublish(fn);
    const dlqArns = { email: this.deadLetterQueues.email.queueArn, sms: this.deadLetterQueues.sms.queueArn };
    fn.addEnvironment('ALERT_DLQ_ARNS', Stack.of(this).toJsonString(dlqArns));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sns:Subscribe', 'sns:Unsubscribe', 'sns:SetSubscriptionAttributes'],
        // Subscription ARNs are `<topic arn>:<uuid>`.
        resources: [this.topic.topicArn, `${this.topic.topicArn}:*`],
      }),
    );
  }
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
