/**
 * The Lambda functions: one per domain (DOMAINS in shared/http/route.ts, entry `functions/<domain>.ts`) plus the
 * REQUEST authorizer, each with its own log group and only the permissions it needs.
 */
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DOMAINS, type Domain } from '#shared/http/route';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** How every function is bundled: esbuild here (never Docker), ESM for node22, AWS SDK from the runtime. */
export const BUNDLING: nodejs.BundlingOptions = {
  forceDockerBundling: false,
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // ESM output still meets CommonJS dependencies that call require().
  banner: "import { createRequire as __cjsRequire } from 'node:module'; const require = __cjsRequire(import.meta.url);",
  externalModules: ['@aws-sdk/*'],
  tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'),
};

/**
 * Table access per function, matched to the DocumentClient commands shared/db issues (Get, BatchGet, Query, Put,
 * Update, Delete, TransactWrite). TransactWriteItems has no IAM action of its own: it is authorised per item as
 * PutItem/UpdateItem/DeleteItem/ConditionCheckItem.
 */
export type TableAccess = 'none' | 'authorizer' | 'bootstrap' | 'readWrite';
const ITEM_ACTIONS: Record<Exclude<TableAccess, 'none'>, string[]> = {
  authorizer: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  bootstrap: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
    'dynamodb:Query',
  ],
};
/** Only Query can use an index. */
const INDEX_ACTIONS: Record<Exclude<TableAccess, 'none'>, string[]> = {
  authorizer: [],
  bootstrap: [],
  readWrite: ['dynamodb:Query'],
};

export interface FunctionAccess {
  readonly table: TableAccess;
  readonly serverSecrets: boolean;
  readonly memorySize: number;
  /** API functions: 10 s unless set. */
  readonly timeoutSeconds?: number;
}

/** A Record over Domain, so adding a domain to DOMAINS fails to compile until its access is decided here. */
export const DOMAIN_ACCESS: Record<Domain, FunctionAccess> = {
  // health and the OpenAPI document: no data, no secrets.
  platform: { table: 'none', serverSecrets: false, memorySize: 512 },
  inventory: { table: 'readWrite', serverSecrets: true, memorySize: 1024 },
  // scrypt at N=2^17 needs 128 MiB per hash and a fast CPU share: 1 GiB.
  identity: { table: 'readWrite', serverSecrets: true, memorySize: 1024 },
  // vSphere connections (their passwords go to Secrets Manager), triggers and history; never in the VPC.
  // POST /v1/vsphere-connections/{id}/test waits for the VPC worker's vCenter login (15 s timeout) plus a possible
  // cold start; 28 s stays under API Gateway's 29 s integration timeout.
  sync: { table: 'readWrite', serverSecrets: true, memorySize: 512, timeoutSeconds: 28 },
  monitoring: { table: 'readWrite', serverSecrets: true, memorySize: 512 },
  // Maintenance windows and procedures (and, as they land, backup and security policies).
  operations: { table: 'readWrite', serverSecrets: true, memorySize: 512 },
};
export const AUTHORIZER_ACCESS: FunctionAccess = { table: 'authorizer', serverSecrets: true, memorySize: 512 };
export const BOOTSTRAP_ACCESS: FunctionAccess = { table: 'bootstrap', serverSecrets: true, memorySize: 256 };

export interface ApiFunctionsProps {
  readonly table: dynamodb.ITableV2;
  readonly serverSecrets: secretsmanager.ISecret;
  readonly adminApiKey: secretsmanager.ISecret;
}

export class ApiFunctions extends Construct {
  readonly byDomain: Record<Domain, nodejs.NodejsFunction>;
  readonly authorizer: nodejs.NodejsFunction;
  /** Custom-resource handler that registers the bootstrap admin key at deploy time. */
  readonly bootstrapAdminKey: nodejs.NodejsFunction;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: ApiFunctionsProps,
  ) {
    super(scope, id);
    const byDomain: Partial<Record<Domain, nodejs.NodejsFunction>> = {};
    for (const domain of DOMAINS) {
      byDomain[domain] = this.createFunction(`${capitalize(domain)}Function`, `functions/${domain}.ts`, DOMAIN_ACCESS[domain], {
        timeout: Duration.seconds(DOMAIN_ACCESS[domain].timeoutSeconds ?? 10),
        description: `dc-inventory ${domain} routes`,
      });
    }
    this.byDomain = byDomain as Record<Domain, nodejs.NodejsFunction>;
    this.authorizer = this.createFunction('AuthorizerFunction', 'functions/authorizer.ts', AUTHORIZER_ACCESS, {
      timeout: Duration.seconds(5),
      description: 'dc-inventory API key authorizer',
    });
    this.bootstrapAdminKey = this.createFunction('BootstrapAdminKeyFunction', 'functions/bootstrap-admin-key.ts', BOOTSTRAP_ACCESS, {
      timeout: Duration.seconds(30),
      description: 'dc-inventory bootstrap admin key registration (custom resource)',
    });
    this.bootstrapAdminKey.addEnvironment('ADMIN_API_KEY_SECRET_ARN', props.adminApiKey.secretArn);
    props.adminApiKey.grantRead(this.bootstrapAdminKey);
  }

  private createFunction(id: string, entry: string, access: FunctionAccess, options: FunctionOptions): nodejs.NodejsFunction {
    return createFunction(this, id, entry, access, this.props, options);
  }
}

export interface FunctionResources {
  readonly table: dynamodb.ITableV2;
  readonly serverSecrets: secretsmanager.ISecret;
}

export interface FunctionOptions {
  readonly timeout: Duration;
  readonly description: string;
  /** Added to TABLE_NAME, SERVER_SECRETS_ARN, NODE_OPTIONS and LOG_LEVEL. */
  readonly environment?: Record<string, string>;
  /** Only the sync worker is placed in a VPC; the API functions never are. */
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly reservedConcurrentExecutions?: number;
  /** Asynchronous invocations: retries, event age and on-failure destination. */
  readonly retryAttempts?: number;
  readonly maxEventAge?: Duration;
  readonly onFailure?: lambda.IDestination;
}

/**
 * One bundled function with its own log group and the table and server-secret access `access` names (nodejs22.x,
 * arm64, ESM bundle). Shared by the API functions and the sync worker and dispatcher.
 */
export function createFunction(
  scope: Construct,
  id: string,
  entry: string,
  access: FunctionAccess,
  resources: FunctionResources,
  options: FunctionOptions,
): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: LOG_RETENTION });
  const fn = new nodejs.NodejsFunction(scope, id, {
    entry: path.join(PROJECT_ROOT, entry),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: access.memorySize,
    timeout: options.timeout,
    description: options.description,
    logGroup,
    environment: {
      // Both are harmless to expose; permissions, not environment, decide what a function may touch.
      TABLE_NAME: resources.table.tableName,
      SERVER_SECRETS_ARN: resources.serverSecrets.secretArn,
      NODE_OPTIONS: '--enable-source-maps',
      LOG_LEVEL: 'info',
      ...options.environment,
    },
    vpc: options.vpc,
    vpcSubnets: options.vpcSubnets,
    securityGroups: options.securityGroups,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    retryAttempts: options.retryAttempts,
    maxEventAge: options.maxEventAge,
    onFailure: options.onFailure,
    bundling: BUNDLING,
  });

  if (access.table !== 'none') {
    const tableArn = resources.table.tableArn;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ITEM_ACTIONS[access.table], resources: [tableArn] }));
    const indexActions = INDEX_ACTIONS[access.table];
    if (indexActions.length > 0) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: indexActions, resources: [`${tableArn}/index/*`] }));
    }
  }
  if (access.serverSecrets) {
    resources.serverSecrets.grantRead(fn);
  }
  return fn;
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
