/**
 * The network path of the sync worker (and only of it): a VPC with isolated subnets in two AZs, joined to the
 * datacenter's network by a Site-to-Site VPN (static routes), with endpoints for DynamoDB (gateway), Secrets Manager
 * and SNS (interface), so nothing needs a NAT or an internet gateway. The worker's security group may open TLS
 * connections to the on-premises CIDRs, the interface endpoints and DynamoDB's prefix list, and nothing else.
 *
 * Everything comes from CDK context, never from an AWS lookup, so `cdk synth` stays offline:
 * - `onPremCustomerGatewayIp`: public IPv4 of the datacenter's VPN device;
 * - `onPremCidrs`: on-premises ranges routed over the VPN (array, or a comma-separated string on the command line);
 * - `vpcCidr`: the VPC range (must not overlap `onPremCidrs`);
 * - `dynamoDbPrefixListId`: the AWS-managed prefix list `com.amazonaws.<region>.dynamodb` of the deployment region.
 *   CloudFormation exposes no attribute for it and `PrefixList.fromLookup` is an AWS call, so it is context:
 *   `aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.<region>.dynamodb`;
 * - `availabilityZones` (optional): two AZ names to pin; by default the first two of the deployment region
 *   (`Fn::GetAZs`, resolved by CloudFormation, so the stack stays environment-agnostic).
 */
import { Annotations, Fn } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LOG_RETENTION } from './functions';

export const SYNC_NETWORK_CONTEXT = {
  customerGatewayIp: 'onPremCustomerGatewayIp',
  onPremCidrs: 'onPremCidrs',
  vpcCidr: 'vpcCidr',
  dynamoDbPrefixListId: 'dynamoDbPrefixListId',
  availabilityZones: 'availabilityZones',
} as const;

/** Documented placeholders (also in cdk.json): synth works with them, a deployment needs the real values. */
export const SYNC_NETWORK_PLACEHOLDERS = {
  customerGatewayIp: '203.0.113.10', // TEST-NET-3
  onPremCidrs: ['10.50.0.0/16'],
  vpcCidr: '10.250.0.0/16',
  dynamoDbPrefixListId: 'pl-00000000000000000',
} as const;

const HTTPS = ec2.Port.tcp(443);

export interface SyncNetworkSettings {
  readonly customerGatewayIp: string;
  readonly onPremCidrs: string[];
  readonly vpcCidr: string;
  readonly dynamoDbPrefixListId: string;
  readonly availabilityZones?: string[];
}

/** Reads and validates the context keys; throws (failing synth) on malformed values. */
export function syncNetworkSettings(scope: Construct): SyncNetworkSettings {
  const context = (key: string) => scope.node.tryGetContext(key) as unknown;
  const list = (value: unknown): string[] | undefined => {
    if (value === undefined || value === null || value === '') return undefined;
    const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
    return items.map((item) => item.trim()).filter((item) => item.length > 0);
  };
  const settings: SyncNetworkSettings = {
    customerGatewayIp: String(context(SYNC_NETWORK_CONTEXT.customerGatewayIp) ?? SYNC_NETWORK_PLACEHOLDERS.customerGatewayIp).trim(),
    onPremCidrs: list(context(SYNC_NETWORK_CONTEXT.onPremCidrs)) ?? [...SYNC_NETWORK_PLACEHOLDERS.onPremCidrs],
    vpcCidr: String(context(SYNC_NETWORK_CONTEXT.vpcCidr) ?? SYNC_NETWORK_PLACEHOLDERS.vpcCidr).trim(),
    dynamoDbPrefixListId: String(
      context(SYNC_NETWORK_CONTEXT.dynamoDbPrefixListId) ?? SYNC_NETWORK_PLACEHOLDERS.dynamoDbPrefixListId,
    ).trim(),
    availabilityZones: list(context(SYNC_NETWORK_CONTEXT.availabilityZones)),
  };

  if (parseIpv4(settings.customerGatewayIp) === undefined) {
    throw new Error(`${SYNC_NETWORK_CONTEXT.customerGatewayIp} must be an IPv4 address, got '${settings.customerGatewayIp}'`);
  }
  const vpc = parseCidr(settings.vpcCidr, SYNC_NETWORK_CONTEXT.vpcCidr);
  if (settings.onPremCidrs.length === 0) throw new Error(`${SYNC_NETWORK_CONTEXT.onPremCidrs} must name at least one CIDR`);
  for (const cidr of settings.onPremCidrs) {
    if (overlaps(vpc, parseCidr(cidr, SYNC_NETWORK_CONTEXT.onPremCidrs))) {
      throw new Error(`${SYNC_NETWORK_CONTEXT.onPremCidrs} entry ${cidr} overlaps ${SYNC_NETWORK_CONTEXT.vpcCidr} ${settings.vpcCidr}`);
    }
  }
  if (!/^pl-[0-9a-f]{8,17}$/.test(settings.dynamoDbPrefixListId)) {
    throw new Error(`${SYNC_NETWORK_CONTEXT.dynamoDbPrefixListId} must look like pl-0123abcd, got '${settings.dynamoDbPrefixListId}'`);
  }
  if (settings.availabilityZones !== undefined && settings.availabilityZones.length !== 2) {
    throw new Error(`${SYNC_NETWORK_CONTEXT.availabilityZones} must name exactly two availability zones`);
  }
  return settings;
}

export class SyncNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  readonly vpnConnection: ec2.VpnConnection;
  /** The sync worker's group: HTTPS to the on-premises CIDRs, the interface endpoints and DynamoDB only. */
  readonly workerSecurityGroup: ec2.SecurityGroup;
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  readonly workerSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  readonly settings: SyncNetworkSettings;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const settings = syncNetworkSettings(this);
    this.settings = settings;
    this.warnAboutPlaceholders(settings);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(settings.vpcCidr),
      // Explicit, so no AZ lookup happens even if the stack is given an account and region.
      availabilityZones: settings.availabilityZones ?? [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())],
      natGateways: 0,
      subnetConfiguration: [{ name: 'sync', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      vpnGateway: true,
      vpnRoutePropagation: [this.workerSubnets],
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [this.workerSubnets] } },
    });

    this.vpnConnection = this.vpc.addVpnConnection('OnPrem', {
      ip: settings.customerGatewayIp,
      // Static routing: the VPN device needs no BGP, and the routes say exactly what crosses the tunnel.
      staticRoutes: settings.onPremCidrs,
    });

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: LOG_RETENTION });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.workerSecurityGroup = new ec2.SecurityGroup(this, 'WorkerSecurityGroup', {
      vpc: this.vpc,
      description: 'dc-inventory sync worker: HTTPS to on-premises vCenter, the VPC endpoints and DynamoDB only',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'dc-inventory interface endpoints: HTTPS from the sync worker only',
      allowAllOutbound: false,
    });

    for (const cidr of settings.onPremCidrs) {
      this.workerSecurityGroup.addEgressRule(ec2.Peer.ipv4(cidr), HTTPS, `vCenter on premises (${cidr}) over the VPN`);
    }
    // Adds the worker's egress rule and the endpoints' ingress rule.
    this.workerSecurityGroup.connections.allowTo(this.endpointSecurityGroup, HTTPS, 'Secrets Manager and SNS interface endpoints');
    this.workerSecurityGroup.addEgressRule(
      ec2.Peer.prefixList(settings.dynamoDbPrefixListId),
      HTTPS,
      'DynamoDB through the gateway endpoint (AWS-managed prefix list)',
    );

    for (const [endpointId, service] of [
      ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
      ['Sns', ec2.InterfaceVpcEndpointAwsService.SNS],
    ] as const) {
      this.vpc.addInterfaceEndpoint(endpointId, {
        service,
        privateDnsEnabled: true,
        subnets: this.workerSubnets,
        securityGroups: [this.endpointSecurityGroup],
        // Not open to the whole VPC CIDR: only the worker's group (rule above).
        open: false,
      });
    }
  }

  private warnAboutPlaceholders(settings: SyncNetworkSettings): void {
    const placeholders: string[] = [];
    if (settings.customerGatewayIp === SYNC_NETWORK_PLACEHOLDERS.customerGatewayIp)
      placeholders.push(SYNC_NETWORK_CONTEXT.customerGatewayIp);
    if (settings.dynamoDbPrefixListId === SYNC_NETWORK_PLACEHOLDERS.dynamoDbPrefixListId) {
      placeholders.push(SYNC_NETWORK_CONTEXT.dynamoDbPrefixListId);
    }
    if (placeholders.length > 0) {
      Annotations.of(this).addWarningV2(
        'dc-inventory:syncNetworkPlaceholders',
        `Placeholder context values in use (${placeholders.join(', ')}): set them with -c or in cdk.json before deploying (README "AWS").`,
      );
    }
  }
}

function parseIpv4(value: string): number | undefined {
  const parts = value.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.reduce((acc, part) => acc * 256 + Number(part), 0);
}

function parseCidr(value: string, key: string): { start: number; end: number } {
  const [address, bits, ...rest] = value.split('/');
  const base = parseIpv4(address ?? '');
  const prefix = Number(bits);
  if (base === undefined || rest.length > 0 || !/^\d{1,2}$/.test(bits ?? '') || prefix > 32) {
    throw new Error(`${key}: '${value}' is not an IPv4 CIDR`);
  }
  const size = 2 ** (32 - prefix);
  const start = base - (base % size);
  return { start, end: start + size - 1 };
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}
