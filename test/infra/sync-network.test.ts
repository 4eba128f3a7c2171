/**
 * The sync worker's network path and the sync functions (lib/constructs/sync-network.ts, lib/constructs/sync.ts):
 * isolated VPC without NAT, Site-to-Site VPN from context, VPC endpoints, a worker security group limited to HTTPS
 * on-premises / endpoints / DynamoDB, the worker alone in the VPC, its async invocation config, the every-minute
 * dispatcher schedule, and who may touch the vCenter passwords.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { allRoutes } from '#shared/routes';
import { InventoryStack } from '../../lib/inventory-stack';
import { SYNC_NETWORK_PLACEHOLDERS, SyncNetwork, syncNetworkSettings } from '../../lib/constructs/sync-network';

interface Resource {
  Type: string;
  Properties?: Record<string, any>;
}
type Resources = Record<string, Resource>;
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const ROOT = path.resolve(__dirname, '..', '..');
const cdkContext = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;

const CONTEXT = {
  onPremCustomerGatewayIp: '198.51.100.7',
  // The command-line form: one comma-separated string.
  onPremCidrs: '10.60.0.0/16, 192.168.10.0/24',
  vpcCidr: '10.251.0.0/16',
  dynamoDbPrefixListId: 'pl-0123456789abcdef0',
};
const ON_PREM = ['10.60.0.0/16', '192.168.10.0/24'];
const VSPHERE_SECRETS = 'secret:dc-inventory/vsphere/*';

const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const idOf = (resources: Resources, type: string, prefix: string) => {
  const found = ofType(resources, type).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${type} ${prefix}, found ${found.length}`);
  return found[0]![0];
};

function roleStatements(resources: Resources, functionId: string): Statement[] {
  const roleId = resources[functionId]?.Properties?.Role?.['Fn::GetAtt']?.[0];
  expect(roleId).toBeDefined();
  const inline = (resources[roleId]?.Properties?.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
  const attached = ofType(resources, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties?.Roles ?? []).some((r: any) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties?.PolicyDocument.Statement);
  return [...inline, ...attached];
}
const actionsOf = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat());
const grants = (statements: Statement[], action: string, resourceFragment: string) =>
  statements.some(
    (s) =>
      s.Effect === 'Allow' &&
      [s.Action].flat().includes(action) &&
      [s.Resource].flat().some((r) => JSON.stringify(r).includes(resourceFragment)),
  );

/** Every egress rule of a security group: inline ones and separate AWS::EC2::SecurityGroupEgress resources. */
function egressOf(resources: Resources, groupId: string) {
  const inline = (resources[groupId]?.Properties?.SecurityGroupEgress ?? []) as Array<Record<string, unknown>>;
  const separate = ofType(resources, 'AWS::EC2::SecurityGroupEgress')
    .filter(([, r]) => JSON.stringify(r.Properties?.GroupId).includes(groupId))
    .map(([, r]) => r.Properties as Record<string, unknown>);
  return [...inline, ...separate];
}

describe('settings from context', () => {
  const settingsWith = (context: Record<string, unknown>) => syncNetworkSettings(new Stack(new App({ context }), 'S'));

  test('cdk.json holds the documented placeholders', () => {
    expect(settingsWith(cdkContext)).toEqual({
      customerGatewayIp: SYNC_NETWORK_PLACEHOLDERS.customerGatewayIp,
      onPremCidrs: [...SYNC_NETWORK_PLACEHOLDERS.onPremCidrs],
      vpcCidr: SYNC_NETWORK_PLACEHOLDERS.vpcCidr,
      dynamoDbPrefixListId: SYNC_NETWORK_PLACEHOLDERS.dynamoDbPrefixListId,
      availabilityZones: undefined,
    });
  });

  test('a comma list and an array both give the CIDRs; AZs may be pinned', () => {
    expect(settingsWith(CONTEXT).onPremCidrs).toEqual(ON_PREM);
    expect(settingsWith({ ...CONTEXT, onPremCidrs: ON_PREM }).onPremCidrs).toEqual(ON_PREM);
    expect(settingsWith({ ...CONTEXT, availabilityZones: 'eu-west-1a,eu-west-1b' }).availabilityZones).toEqual([
      'eu-west-1a',
      'eu-west-1b',
    ]);
  });

  test.each([
    [{ onPremCustomerGatewayIp: 'vpn.example.com' }, /IPv4 address/],
    [{ onPremCidrs: '10.251.128.0/17' }, /overlaps/],
    [{ onPremCidrs: '10.0.0.0/8' }, /overlaps/],
    [{ onPremCidrs: '10.60.0.0/33' }, /not an IPv4 CIDR/],
    [{ dynamoDbPrefixListId: 'dynamodb' }, /pl-/],
    [{ availabilityZones: ['eu-west-1a'] }, /exactly two/],
  ])('rejects %j', (override, message) => {
    expect(() => settingsWith({ ...CONTEXT, ...override })).toThrow(message);
  });
});

describe('SyncNetwork', () => {
  const stack = new Stack(new App({ context: CONTEXT }), 'Network');
  const network = new SyncNetwork(stack, 'SyncNetwork');
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;
  const workerSg = stack.getLogicalId(network.workerSecurityGroup.node.defaultChild as any);
  const endpointSg = stack.getLogicalId(network.endpointSecurityGroup.node.defaultChild as any);

  test('two isolated subnets in two AZs chosen without a lookup; no NAT, no internet gateway, no routes out', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: CONTEXT.vpcCidr });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 0);
    template.resourceCountIs('AWS::EC2::Route', 0);
    const subnets = ofType(resources, 'AWS::EC2::Subnet');
    expect(subnets).toHaveLength(2);
    subnets.forEach(([, subnet], index) => {
      expect(subnet.Properties?.MapPublicIpOnLaunch).toBe(false);
      expect(subnet.Properties?.Tags).toEqual(expect.arrayContaining([{ Key: 'aws-cdk:subnet-type', Value: 'Isolated' }]));
      expect(subnet.Properties?.AvailabilityZone).toEqual({ 'Fn::Select': [index, { 'Fn::GetAZs': '' }] });
    });
  });

  test('pinned availability zones are used as given', () => {
    const pinned = new Stack(new App({ context: { ...CONTEXT, availabilityZones: ['eu-west-1b', 'eu-west-1c'] } }), 'Pinned');
    new SyncNetwork(pinned, 'SyncNetwork');
    const azs = ofType(Template.fromStack(pinned).toJSON().Resources, 'AWS::EC2::Subnet').map(([, s]) => s.Properties?.AvailabilityZone);
    expect(azs.sort()).toEqual(['eu-west-1b', 'eu-west-1c']);
  });

  test('Site-to-Site VPN: gateway, customer gateway from context, static routes for the on-premises CIDRs, propagated', () => {
    template.resourceCountIs('AWS::EC2::VPNGateway', 1);
    template.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 1);
    template.hasResourceProperties('AWS::EC2::CustomerGateway', { IpAddress: CONTEXT.onPremCustomerGatewayIp, Type: 'ipsec.1' });
    template.hasResourceProperties('AWS::EC2::VPNConnection', { StaticRoutesOnly: true, Type: 'ipsec.1' });
    const routes = ofType(resources, 'AWS::EC2::VPNConnectionRoute').map(([, r]) => r.Properties?.DestinationCidrBlock);
    expect(routes.sort()).toEqual([...ON_PREM].sort());
    const routeTables = ofType(resources, 'AWS::EC2::RouteTable').map(([id]) => ({ Ref: id }));
    expect(routeTables).toHaveLength(2);
    template.hasResourceProperties('AWS::EC2::VPNGatewayRoutePropagation', { RouteTableIds: Match.arrayEquals(routeTables) });
  });

  test('endpoints: DynamoDB gateway on the isolated route tables; Secrets Manager and SNS interfaces with private DNS', () => {
    const endpoints = ofType(resources, 'AWS::EC2::VPCEndpoint').map(([, r]) => r.Properties!);
    expect(endpoints).toHaveLength(3);
    const service = (props: Record<string, any>) => JSON.stringify(props.ServiceName);
    const gateway = endpoints.filter((e) => e.VpcEndpointType === 'Gateway');
    expect(gateway).toHaveLength(1);
    expect(service(gateway[0]!)).toContain('.dynamodb');
    expect(gateway[0]!.RouteTableIds).toHaveLength(2);
    const interfaces = endpoints.filter((e) => e.VpcEndpointType === 'Interface');
    expect(interfaces.map((e) => (/\.(secretsmanager|sns)"/.exec(service(e)) ?? [])[1]).sort()).toEqual(['secretsmanager', 'sns']);
    for (const endpoint of interfaces) {
      expect(endpoint.PrivateDnsEnabled).toBe(true);
      expect(endpoint.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [endpointSg, 'GroupId'] }]);
      expect(endpoint.SubnetIds).toHaveLength(2);
    }
  });

  test('worker security group: HTTPS to the on-premises CIDRs, the endpoint group and the DynamoDB prefix list, nothing else', () => {
    const rules = egressOf(resources, workerSg);
    expect(JSON.stringify(rules)).not.toContain('0.0.0.0/0');
    for (const rule of rules) {
      expect({ rule, protocol: rule.IpProtocol, from: rule.FromPort, to: rule.ToPort }).toEqual({
        rule,
        protocol: 'tcp',
        from: 443,
        to: 443,
      });
    }
    const destinations = rules.map((rule) =>
      rule.CidrIp
        ? `cidr:${rule.CidrIp}`
        : rule.DestinationPrefixListId
          ? `prefixList:${rule.DestinationPrefixListId}`
          : `group:${JSON.stringify(rule.DestinationSecurityGroupId)}`,
    );
    expect(destinations.sort()).toEqual(
      [
        ...ON_PREM.map((cidr) => `cidr:${cidr}`),
        `prefixList:${CONTEXT.dynamoDbPrefixListId}`,
        `group:${JSON.stringify({ 'Fn::GetAtt': [endpointSg, 'GroupId'] })}`,
      ].sort(),
    );
  });

  test('endpoint security group: HTTPS in from the worker group only, no egress', () => {
    expect(resources[endpointSg]?.Properties?.SecurityGroupIngress).toBeUndefined();
    const ingress = ofType(resources, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties!);
    expect(ingress).toEqual([
      expect.objectContaining({
        GroupId: { 'Fn::GetAtt': [endpointSg, 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [workerSg, 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
      }),
    ]);
    // allowAllOutbound: false renders CDK's disallow-all placeholder rule.
    expect(egressOf(resources, endpointSg)).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
  });

  test('VPC flow logs go to CloudWatch Logs with retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    for (const [, group] of ofType(resources, 'AWS::Logs::LogGroup')) expect(group.Properties?.RetentionInDays).toBeGreaterThan(0);
  });
});

describe('sync functions in the InventoryStack', () => {
  const app = new App({ context: { ...cdkContext, ...CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new InventoryStack(app, 'DcInventorySyncTest', { routes: allRoutes });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;
  const worker = idOf(resources, 'AWS::Lambda::Function', 'SyncWorkerFunction');
  const dispatcher = idOf(resources, 'AWS::Lambda::Function', 'SyncDispatcherFunction');
  const syncApi = idOf(resources, 'AWS::Lambda::Function', 'FunctionsSyncFunction');
  const workerSg = stack.getLogicalId(stack.syncNetwork.workerSecurityGroup.node.defaultChild as any);
  const workerArn = { 'Fn::GetAtt': [worker, 'Arn'] };

  test('the worker runs in the isolated subnets with its security group: 15 min, 1 GiB, reserved concurrency', () => {
    const props = resources[worker]!.Properties!;
    expect(props.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [workerSg, 'GroupId'] }]);
    expect(props.VpcConfig.SubnetIds).toHaveLength(2);
    expect(props).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 900,
      MemorySize: 1024,
      ReservedConcurrentExecutions: 10,
      LoggingConfig: { LogGroup: expect.anything() },
    });
    expect(props.Environment.Variables).toMatchObject({
      TABLE_NAME: expect.anything(),
      SERVER_SECRETS_ARN: expect.anything(),
      VSPHERE_SECRETS: 'secretsmanager',
      VSPHERE_SECRET_PREFIX: 'dc-inventory/vsphere/',
    });
  });

  test('no other function is in the VPC (the API functions, the dispatcher and the providers stay out)', () => {
    const inVpc = ofType(resources, 'AWS::Lambda::Function')
      .filter(([, fn]) => fn.Properties?.VpcConfig !== undefined)
      .map(([id]) => id);
    expect(inVpc).toEqual([worker]);
    expect(JSON.stringify(resources[resources[syncApi]!.Properties!.Role['Fn::GetAtt'][0]])).not.toContain(
      'AWSLambdaVPCAccessExecutionRole',
    );
  });

  test('worker async invocations: 2 retries, 1 h, failures to an encrypted TLS-only queue with an alarm', () => {
    const configs = ofType(resources, 'AWS::Lambda::EventInvokeConfig').filter(([, c]) => c.Properties?.FunctionName?.Ref === worker);
    expect(configs).toHaveLength(1);
    const config = configs[0]![1].Properties!;
    expect(config).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600, Qualifier: '$LATEST' });
    const queue = config.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0];
    expect(resources[queue]).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { SqsManagedSseEnabled: true } });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(grants(roleStatements(resources, worker), 'sqs:SendMessage', queue)).toBe(true);
  });

  test('EventBridge runs the dispatcher every minute with retries and a dead-letter queue', () => {
    const rules = ofType(resources, 'AWS::Events::Rule').filter(([, r]) => r.Properties?.ScheduleExpression === 'rate(1 minute)');
    expect(rules).toHaveLength(1);
    const targets = rules[0]![1].Properties!.Targets as Array<Record<string, any>>;
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [dispatcher, 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 2 },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
    });
    const dlq = targets[0]!.DeadLetterConfig.Arn['Fn::GetAtt'][0];
    expect(resources[dlq]).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { SqsManagedSseEnabled: true } });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [dispatcher, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
    });
  });

  test('the dispatcher: outside the VPC, 60 s, starts the worker, reads the table and the server secret only', () => {
    const props = resources[dispatcher]!.Properties!;
    expect(props.VpcConfig).toBeUndefined();
    expect(props).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 60 });
    expect(props.Environment.Variables.SYNC_FUNCTION_NAME).toEqual({ Ref: worker });
    const statements = roleStatements(resources, dispatcher);
    expect(grants(statements, 'lambda:InvokeFunction', worker)).toBe(true);
    expect(actionsOf(statements)).toEqual(
      expect.arrayContaining([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:Query',
      ]),
    );
    expect(grants(statements, 'dynamodb:Query', '/index/*')).toBe(true);
    expect(grants(statements, 'secretsmanager:GetSecretValue', 'ServerSecrets')).toBe(true);
    expect(JSON.stringify(statements)).not.toContain('dc-inventory/vsphere');
  });

  test('the sync API function starts and tests through the worker and writes, but never reads, vCenter passwords', () => {
    const props = resources[syncApi]!.Properties!;
    expect(props.VpcConfig).toBeUndefined();
    expect(props.Environment.Variables).toMatchObject({
      SYNC_FUNCTION_NAME: { Ref: worker },
      VSPHERE_SECRETS: 'secretsmanager',
      VSPHERE_SECRET_PREFIX: 'dc-inventory/vsphere/',
    });
    const statements = roleStatements(resources, syncApi);
    expect(
      statements.some(
        (s) => [s.Action].flat().includes('lambda:InvokeFunction') && JSON.stringify(s.Resource).includes(JSON.stringify(workerArn)),
      ),
    ).toBe(true);
    for (const action of [
      'secretsmanager:CreateSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:DeleteSecret',
      'secretsmanager:TagResource',
      'secretsmanager:DescribeSecret',
    ]) {
      expect({ action, granted: grants(statements, action, VSPHERE_SECRETS) }).toEqual({ action, granted: true });
    }
    expect(grants(statements, 'secretsmanager:GetSecretValue', 'dc-inventory/vsphere')).toBe(false);
    // Secrets Manager write actions only on the vSphere secrets.
    for (const statement of statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('secretsmanager:Create')))) {
      expect([statement.Resource].flat().map((r) => JSON.stringify(r))).toEqual([expect.stringContaining(VSPHERE_SECRETS)]);
    }
  });

  test('only the worker may read the vCenter passwords', () => {
    expect(grants(roleStatements(resources, worker), 'secretsmanager:GetSecretValue', VSPHERE_SECRETS)).toBe(true);
    expect(grants(roleStatements(resources, worker), 'secretsmanager:GetSecretValue', 'ServerSecrets')).toBe(true);
    expect(actionsOf(roleStatements(resources, worker))).not.toContain('secretsmanager:CreateSecret');
    const readers = ofType(resources, 'AWS::Lambda::Function')
      .filter(([id]) => grants(roleStatements(resources, id), 'secretsmanager:GetSecretValue', 'dc-inventory/vsphere'))
      .map(([id]) => id);
    expect(readers).toEqual([worker]);
  });

  test('the worker and the dispatcher may publish alert notifications', () => {
    for (const fn of [worker, dispatcher]) {
      expect(resources[fn]!.Properties!.Environment.Variables.ALERTS_TOPIC_ARN).toBeDefined();
      expect(actionsOf(roleStatements(resources, fn))).toContain('sns:Publish');
    }
  });

  test('the VPN connection id is an output', () => {
    template.hasOutput('VpnConnectionId', { Value: { Ref: idOf(resources, 'AWS::EC2::VPNConnection', 'SyncNetwork') } });
  });
});
