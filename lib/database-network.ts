// Where CollectDatabaseSource runs: the databases' VPC and subnets, as the data map's aws blocks name
// them (imported by id, no context lookups), with a security group of its own that may reach each
// database's proxy on its port and AWS's endpoints on 443, and nothing else; each proxy's security
// group is opened to that group alone. One function reads every database, so they must share a VPC.
import { Peer, Port, SecurityGroup, Subnet, Vpc, type ISecurityGroup, type ISubnet, type IVpc } from 'aws-cdk-lib/aws-ec2';
import { Annotations, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { AwsPostgresDatabase } from '../lambdas/core/collect/connectors/postgres/schema.ts';
import { DataMapError } from '../lambdas/core/platform/errors.ts';

/** Where a function runs inside a VPC (HouseFunction's `network`). */
export interface FunctionNetwork {
  vpc: IVpc;
  subnets: ISubnet[];
  securityGroup: ISecurityGroup;
}

export class DatabaseNetwork extends Construct implements FunctionNetwork {
  readonly vpc: IVpc;
  readonly subnets: ISubnet[];
  readonly securityGroup: SecurityGroup;

  /** `databases`: the settings of each database the function reads, by its name in the data map (at least one). */
  constructor(scope: Construct, id: string, databases: Map<string, AwsPostgresDatabase>) {
    super(scope, id);
    const entries = [...databases.entries()];
    const vpcs = new Map(entries.map(([name, aws]) => [aws.vpcId, name]));
    const [first] = entries;
    if (!first) throw new DataMapError('A database network needs at least one database.');
    if (vpcs.size > 1) {
      const named = [...vpcs].map(([vpcId, name]) => `"${name}" (${vpcId})`).join(', ');
      throw new DataMapError(
        `The data map's databases are in different VPCs: ${named}. One function, CollectDatabaseSource, reads every database from inside one VPC; put their proxies in one VPC (an RDS Proxy endpoint can be created in another VPC of the database's), or export them with separate stacks.`,
      );
    }
    const vpcId = first[1].vpcId;
    // The function's subnets are given explicitly, never selected from the VPC, so the VPC is imported
    // with no subnets; the zones it asks for are the stack's (unused: nothing selects by zone).
    this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', { vpcId, availabilityZones: Stack.of(this).availabilityZones });
    const subnetIds = [...new Set(entries.flatMap(([, aws]) => aws.subnetIds))].sort();
    this.subnets = subnetIds.map((subnetId) => {
      const subnet = Subnet.fromSubnetId(this, subnetId, subnetId);
      Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'Only the function is placed in these subnets; nothing reads their route tables.');
      return subnet;
    });
    this.securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'CollectDatabaseSource: to the databases proxies and to AWS endpoints over HTTPS only',
      allowAllOutbound: false,
      allowAllIpv6Outbound: false,
    });
    // S3 and DynamoDB (gateway endpoints or NAT), KMS, X-Ray: all HTTPS. The addresses are AWS's, so any.
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'HTTPS to AWS endpoints (S3, DynamoDB, KMS, X-Ray)');
    for (const [name, aws] of entries) {
      // Databases may share a proxy's group (and a port: CDK then keeps one rule of each).
      const proxy =
        (this.node.tryFindChild(aws.securityGroupId) as ISecurityGroup | undefined) ??
        SecurityGroup.fromSecurityGroupId(this, aws.securityGroupId, aws.securityGroupId, { allowAllOutbound: false });
      this.securityGroup.addEgressRule(proxy, Port.tcp(aws.port), `PostgreSQL to database ${name}`);
      proxy.addIngressRule(this.securityGroup, Port.tcp(aws.port), `CollectDatabaseSource reads database ${name}`);
    }
  }
}
