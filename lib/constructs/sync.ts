/**
 * vCenter sync on AWS: the VPC-attached worker (functions/sync-worker.ts), the dispatcher that EventBridge runs every
 * minute (functions/sync-dispatcher.ts, outside the VPC), and what the sync API function (outside the VPC) is given
 * to hand work to the worker and to keep the vCenter passwords in Secrets Manager.
 *
 * Secrets: one per connection, `dc-inventory/vsphere/<id>` (shared/domains/sync/credentials.ts). The API function
 * creates, replaces and deletes them but never reads them back; only the worker reads them.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { createFunction, type FunctionAccess } from './functions';
import type { SyncNetwork } from './sync-network';

/** Must match the default of `secretName` in shared/domains/sync/credentials.ts; also set as VSPHERE_SECRET_PREFIX. */
export const VSPHERE_SECRET_PREFIX = 'dc-inventory/vsphere/';
/** Context key; `none` deploys the worker without reserved concurrency (accounts whose quota is still 10). */
export const WORKER_CONCURRENCY_CONTEXT = 'syncWorkerReservedConcurrency';
export const DEFAULT_WORKER_CONCURRENCY = 10;

export const WORKER_ACCESS: FunctionAccess = { table: 'readWrite', serverSecrets: true, memorySize: 1024 };
export const DISPATCHER_ACCESS: FunctionAccess = { table: 'readWrite', serverSecrets: true, memorySize: 512 };

export interface SyncRuntimeProps {
  readonly table: dynamodb.ITableV2;
  readonly serverSecrets: secretsmanager.ISecret;
  readonly network: SyncNetwork;
  /** The 'sync' API domain function (outside the VPC). */
  readonly apiFunction: lambda.Function;
}

export class SyncRuntime extends Construct {
  readonly worker: nodejs.NodejsFunction;
  readonly dispatcher: nodejs.NodejsFunction;
  /** Sync jobs that failed after Lambda's retries or grew too old. */
  readonly workerFailures: sqs.Queue;
  /** Scheduled dispatches EventBridge could not deliver, and dispatcher runs that failed. */
  readonly dispatchFailures: sqs.Queue;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: SyncRuntimeProps) {
    super(scope, id);
    const resources = { table: props.table, serverSecrets: props.serverSecrets };
    const vsphereSecretsArn = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${VSPHERE_SECRET_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const vsphereSecretsEnv = { VSPHERE_SECRETS: 'secretsmanager', VSPHERE_SECRET_PREFIX };

    this.workerFailures = this.failureQueue('WorkerFailures', 'sync jobs failed after retries (on-failure destination)');
    this.worker = createFunction(this, 'WorkerFunction', 'functions/sync-worker.ts', WORKER_ACCESS, resources, {
      description: 'dc-inventory vCenter sync worker (VPC, VPN to the datacenter)',
      // A whole vCenter read and write; the lease (15 min) is renewed while it runs.
      timeout: Duration.minutes(15),
      environment: vsphereSecretsEnv,
      vpc: props.network.vpc,
      vpcSubnets: props.network.workerSubnets,
      securityGroups: [props.network.workerSecurityGroup],
      reservedConcurrentExecutions: this.workerConcurrency(),
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: new destinations.SqsDestination(this.workerFailures),
    });
    this.worker.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [vsphereSecretsArn] }));

    this.dispatchFailures = this.failureQueue('DispatchFailures', 'scheduled sync dispatches undelivered or failed');
    this.dispatcher = createFunction(this, 'DispatcherFunction', 'functions/sync-dispatcher.ts', DISPATCHER_ACCESS, resources, {
      description: 'dc-inventory sync dispatcher (every minute): starts due syncs',
      timeout: Duration.seconds(60),
      environment: { SYNC_FUNCTION_NAME: this.worker.functionName },
      // The next tick is the retry: a failed dispatch is not re-run a minute or two late, it is recorded.
      retryAttempts: 0,
      maxEventAge: Duration.minutes(2),
      onFailure: new destinations.SqsDestination(this.dispatchFailures),
    });
    this.worker.grantInvoke(this.dispatcher);

    this.schedule = new events.Rule(this, 'DispatchSchedule', {
      description: 'dc-inventory: start the syncs whose interval has passed',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [
        new targets.LambdaFunction(this.dispatcher, {
          retryAttempts: 2,
          maxEventAge: Duration.minutes(2),
          deadLetterQueue: this.dispatchFailures,
        }),
      ],
    });

    // The sync API function: hands syncs and connection tests to the worker, writes (never reads) vCenter passwords.
    const api = props.apiFunction;
    api.addEnvironment('SYNC_FUNCTION_NAME', this.worker.functionName);
    for (const [name, value] of Object.entries(vsphereSecretsEnv)) api.addEnvironment(name, value);
    this.worker.grantInvoke(api);
    api.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'secretsmanager:CreateSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:DeleteSecret',
          // CreateSecret with Tags.
          'secretsmanager:TagResource',
          'secretsmanager:DescribeSecret',
        ],
        resources: [vsphereSecretsArn],
      }),
    );
  }

  private failureQueue(id: string, what: string): sqs.Queue {
    const queue = new sqs.Queue(this, id, {
      // SSE-SQS: EventBridge and Lambda destinations write to it without a key policy.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    new cloudwatch.Alarm(this, `${id}Alarm`, {
      alarmDescription: `dc-inventory: ${what}`,
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return queue;
  }

  private workerConcurrency(): number | undefined {
    const configured = this.node.tryGetContext(WORKER_CONCURRENCY_CONTEXT) as unknown;
    if (configured === 'none') return undefined;
    const value = Number(configured ?? DEFAULT_WORKER_CONCURRENCY);
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`${WORKER_CONCURRENCY_CONTEXT} must be a positive integer or 'none', got '${String(configured)}'`);
    }
    return value;
  }
}
