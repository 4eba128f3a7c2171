/**
 * CDK entry point (`npx cdk synth`). Environment-agnostic: the account and region come from the deploying
 * credentials, so synthesis needs neither AWS access nor lookups.
 */
import { App } from 'aws-cdk-lib';
import { allRoutes } from '#shared/routes';
import { InventoryStack } from '../lib/inventory-stack';

const app = new App();
new InventoryStack(app, 'DcInventory', {
  description: 'Datacenter inventory API (API Gateway REST, Lambda, DynamoDB)',
  routes: allRoutes,
});
app.synth();
