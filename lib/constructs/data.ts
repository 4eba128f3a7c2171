/**
 * Stateful resources: the one DynamoDB table (built from shared/db/table.ts) and the server secrets.
 */
import { RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { INDEXES, KEY_ATTRIBUTES } from '#shared/db/table';

const string = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

/** JSON keys of the server secret, as read by shared/config.ts. */
export const SERVER_SECRET_KEYS = {
  cursorKey: 'cursor_key',
  apiKeyPepper: 'api_key_pepper',
  usagePlanKey: 'usage_plan_key',
} as const;

export class DataStore extends Construct {
  readonly table: dynamodb.TableV2;
  /** `{cursor_key, api_key_pepper, usage_plan_key}`; the Lambdas read it through SERVER_SECRETS_ARN. */
  readonly serverSecrets: secretsmanager.Secret;
  /** The bootstrap admin API key (API-CONVENTIONS.md "Credentials"), registered by a custom resource. */
  readonly adminApiKey: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: string(KEY_ATTRIBUTES.partitionKey),
      sortKey: string(KEY_ATTRIBUTES.sortKey),
      globalSecondaryIndexes: Object.values(INDEXES).map((index) => ({
        indexName: index.name,
        partitionKey: string(index.partitionKey),
        sortKey: string(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      })),
      timeToLiveAttribute: KEY_ATTRIBUTES.timeToLive,
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // CloudFormation's GenerateSecretString fills exactly one JSON key. The two HMAC keys are therefore generated
    // in their own (never granted) secrets and copied into the server secret at creation through dynamic
    // references, which CloudFormation resolves inside any resource property; the third key is generated in place.
    // Alphanumeric only: the values are spliced into a JSON template and used as an API Gateway key.
    const generated = (childId: string, description: string) =>
      new secretsmanager.Secret(this, childId, {
        description,
        generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
        removalPolicy: RemovalPolicy.RETAIN,
      });
    const cursorKey = generated('CursorKeySource', 'Source of server-secrets cursor_key (copied at creation; not read by the app)');
    const pepper = generated('ApiKeyPepperSource', 'Source of server-secrets api_key_pepper (copied at creation; not read by the app)');

    const template = Stack.of(this).toJsonString({
      [SERVER_SECRET_KEYS.cursorKey]: SecretValue.secretsManager(cursorKey.secretArn).unsafeUnwrap(),
      [SERVER_SECRET_KEYS.apiKeyPepper]: SecretValue.secretsManager(pepper.secretArn).unsafeUnwrap(),
    });
    this.serverSecrets = new secretsmanager.Secret(this, 'ServerSecrets', {
      description: 'dc-inventory server secrets: {cursor_key, api_key_pepper, usage_plan_key}',
      generateSecretString: {
        secretStringTemplate: template,
        generateStringKey: SERVER_SECRET_KEYS.usagePlanKey,
        passwordLength: 40,
        excludePunctuation: true,
        includeSpace: false,
      },
      // Losing the pepper invalidates every stored API key hash.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.adminApiKey = new secretsmanager.Secret(this, 'AdminApiKey', {
      description: 'dc-inventory bootstrap admin API key: read it once, create named keys, then rotate or revoke it',
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
  }
}
