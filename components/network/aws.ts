// OutboundOnlyNetwork on AWS: VPC, private subnets per AZ (no public IPs), NAT
// gateways with Elastic IPs in small public subnets, a locked default security
// group, a worker security group without ingress, S3 gateway and ECR interface
// endpoints, and VPC flow logs to CloudWatch.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AddressPlan } from "./plan.js";
import type { NetworkRefs, NormalizedNetworkArgs } from "./index.js";

export function createAwsNetwork(parent: pulumi.Resource, name: string, a: NormalizedNetworkArgs, plan: AddressPlan): NetworkRefs {
  const opts = { parent };
  const tags = (n: string, extra: Record<string, string> = {}) => ({ ...a.tags, Name: n, ...extra });

  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    { cidrBlock: plan.network, enableDnsHostnames: true, enableDnsSupport: true, tags: tags(`${name}-vpc`) },
    opts,
  );

  // Adopting the default security group with no rules removes its allow-all rules.
  new aws.ec2.DefaultSecurityGroup(
    `${name}-default-sg`,
    { vpcId: vpc.id, ingress: [], egress: [], tags: tags(`${name}-default-locked`) },
    opts,
  );

  const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags(`${name}-igw`) }, opts);
  const publicRt = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, tags: tags(`${name}-public`) }, opts);
  new aws.ec2.Route(`${name}-public-default`, { routeTableId: publicRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, opts);

  const natCount = a.natPerZone ? a.zones.length : 1;
  const nats: aws.ec2.NatGateway[] = [];
  const eips: aws.ec2.Eip[] = [];
  const publicSubnets: aws.ec2.Subnet[] = [];
  a.zones.forEach((zone, i) => {
    // Public subnets hold only the NAT gateways; instances launched here get no public IP either.
    const pub = new aws.ec2.Subnet(
      `${name}-public-${i}`,
      {
        vpcId: vpc.id,
        cidrBlock: plan.public[i]!,
        availabilityZone: zone,
        mapPublicIpOnLaunch: false,
        tags: tags(`${name}-public-${zone}`, { "framefleet:tier": "public", "kubernetes.io/role/elb": "1" }),
      },
      opts,
    );
    publicSubnets.push(pub);
    new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: pub.id, routeTableId: publicRt.id }, opts);
    if (i < natCount) {
      const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: tags(`${name}-nat-${zone}`) }, { parent, dependsOn: [igw] });
      eips.push(eip);
      nats.push(
        new aws.ec2.NatGateway(
          `${name}-nat-${i}`,
          { allocationId: eip.id, subnetId: pub.id, connectivityType: "public", tags: tags(`${name}-nat-${zone}`) },
          opts,
        ),
      );
    }
  });

  const privateSubnets: aws.ec2.Subnet[] = [];
  const privateRts: aws.ec2.RouteTable[] = [];
  a.zones.forEach((zone, i) => {
    const sn = new aws.ec2.Subnet(
      `${name}-private-${i}`,
      {
        vpcId: vpc.id,
        cidrBlock: plan.private[i]!,
        availabilityZone: zone,
        mapPublicIpOnLaunch: false,
        tags: tags(`${name}-private-${zone}`, { "framefleet:tier": "private", "kubernetes.io/role/internal-elb": "1" }),
      },
      opts,
    );
    // The only default route out of a private subnet is the zone's NAT gateway; never the internet gateway.
    const rt = new aws.ec2.RouteTable(`${name}-private-rt-${i}`, { vpcId: vpc.id, tags: tags(`${name}-private-${zone}`) }, opts);
    new aws.ec2.Route(
      `${name}-private-default-${i}`,
      { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nats[Math.min(i, nats.length - 1)]!.id },
      opts,
    );
    new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: sn.id, routeTableId: rt.id }, opts);
    privateSubnets.push(sn);
    privateRts.push(rt);
  });

  // Worker hosts: nothing may connect in; out only to the listed TCP ports.
  const workerSg = new aws.ec2.SecurityGroup(
    `${name}-workers`,
    {
      vpcId: vpc.id,
      description: "framefleet worker hosts: no inbound, outbound to the manager, registry and storage only",
      ingress: [],
      egress: a.egressPorts.map((port) => ({
        protocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrBlocks: ["0.0.0.0/0"],
        description: `tcp/${port} out`,
      })),
      revokeRulesOnDelete: true,
      tags: tags(`${name}-workers`),
    },
    opts,
  );

  const endpointSg = new aws.ec2.SecurityGroup(
    `${name}-endpoints`,
    {
      vpcId: vpc.id,
      description: "framefleet interface endpoints: HTTPS from inside the VPC",
      ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [plan.network], description: "https from the VPC" }],
      egress: [],
      tags: tags(`${name}-endpoints`),
    },
    opts,
  );
  new aws.ec2.VpcEndpoint(
    `${name}-s3`,
    {
      vpcId: vpc.id,
      serviceName: `com.amazonaws.${a.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: privateRts.map((r) => r.id),
      tags: tags(`${name}-s3`),
    },
    opts,
  );
  for (const svc of ["ecr.api", "ecr.dkr"]) {
    new aws.ec2.VpcEndpoint(
      `${name}-${svc.replace(".", "-")}`,
      {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${a.region}.${svc}`,
        vpcEndpointType: "Interface",
        privateDnsEnabled: true,
        subnetIds: privateSubnets.map((s) => s.id),
        securityGroupIds: [endpointSg.id],
        tags: tags(`${name}-${svc}`),
      },
      opts,
    );
  }

  // Flow logs: every accepted and rejected flow, to a CloudWatch log group.
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-flow-logs`,
    { retentionInDays: a.flowLogRetentionDays, tags: tags(`${name}-flow-logs`) },
    opts,
  );
  const flowRole = new aws.iam.Role(
    `${name}-flow-logs`,
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags: tags(`${name}-flow-logs`),
    },
    opts,
  );
  new aws.iam.RolePolicy(
    `${name}-flow-logs`,
    {
      role: flowRole.id,
      policy: logGroup.arn.apply((arn) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
              Resource: [arn, `${arn}:*`],
            },
          ],
        }),
      ),
    },
    opts,
  );
  new aws.ec2.FlowLog(
    `${name}-flow-logs`,
    {
      vpcId: vpc.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: logGroup.arn,
      iamRoleArn: flowRole.arn,
      maxAggregationInterval: 60,
      tags: tags(`${name}-flow-logs`),
    },
    opts,
  );

  const privateIds = privateSubnets.map((s) => s.id);
  return {
    cloud: "aws",
    networkId: vpc.id,
    workerSubnetIds: privateIds,
    managerSubnetIds: privateIds,
    databaseSubnetIds: privateIds,
    publicSubnetIds: publicSubnets.map((s) => s.id),
    workerSecurityGroupId: workerSg.id,
    egressIps: eips.map((e) => e.publicIp),
    plan,
  };
}
