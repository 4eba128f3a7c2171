/**
 * The whole deployment: data (table + secrets), one Lambda per domain plus the authorizer, and the REST API whose
 * resources and methods come from the route table (shared/routes.ts); the vCenter sync worker in its VPC (VPN to the
 * datacenter) with its every-minute dispatcher.
 */
import { CfnOutput, CustomResource, Stack, type StackProps } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { RouteDefinition } from '#shared/http/route';
import { Alerting } from './constructs/alerting';
import { InventoryApi } from './constructs/api';
import { DataStore } from './constructs/data';
import { ApiFunctions } from './constructs/functions';
import { SyncRuntime } from './constructs/sync';
import { SyncNetwork } from './constructs/sync-network';

export interface InventoryStackProps extends StackProps {
  readonly routes: readonly RouteDefinition[];
}

export class InventoryStack extends Stack {
  readonly data: DataStore;
  readonly functions: ApiFunctions;
  readonly api: InventoryApi;
  readonly alerting: Alerting;
  readonly syncNetwork: SyncNetwork;
  readonly sync: SyncRuntime;

  constructor(scope: Construct, id: string, props: InventoryStackProps) {
    super(scope, id, props);

    this.data = new DataStore(this, 'Data');
    this.functions = new ApiFunctions(this, 'Functions', {
      table: this.data.table,
      serverSecrets: this.data.serverSecrets,
      adminApiKey: this.data.adminApiKey,
    });
    this.alerting = new Alerting(this, 'Alerting', { table: this.data.table });
    this.alerting.grantManage(this.functions.byDomain.monitoring);
    this.syncNetwork = new SyncNetwork(this, 'SyncNetwork');
    this.sync = new SyncRuntime(this, 'Sync', {
      table: this.data.table,
      serverSecrets: this.data.serverSecrets,
      network: this.syncNetwork,
      apiFunction: this.functions.byDomain.sync,
    });
    // Both evaluate monitoring rules (after a sync; every minute for time-based rules) and may notify.
    this.alerting.grantPublish(this.sync.worker);
    this.alerting.grantPublish(this.sync.dispatcher);
    // Registers the bootstrap admin key (hashed) so a fresh deployment can be used at all.
    const bootstrapProvider = new cr.Provider(this, 'BootstrapAdminKeyProvider', { onEventHandler: this.functions.bootstrapAdminKey });
    const bootstrap = new CustomResource(this, 'BootstrapAdminKey', {
      serviceToken: bootstrapProvider.serviceToken,
      properties: { secretArn: this.data.adminApiKey.secretArn },
    });
    bootstrap.node.addDependency(this.data.table);
    this.api = new InventoryApi(this, 'Api', {
      routes: props.routes,
      functions: this.functions.byDomain,
      authorizerFunction: this.functions.authorizer,
      serverSecrets: this.data.serverSecrets,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Stage URL; append /v1/...' });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName });
    new CfnOutput(this, 'AdminApiKeySecretArn', {
      value: this.data.adminApiKey.secretArn,
      description: 'Bootstrap admin API key: aws secretsmanager get-secret-value --secret-id <arn>',
    });
    new CfnOutput(this, 'VpnConnectionId', {
      value: this.syncNetwork.vpnConnection.vpnId,
      description: 'Site-to-Site VPN to the datacenter: download its configuration for the customer gateway device',
    });
  }
}
