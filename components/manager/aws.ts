// ManagerCluster on AWS: EKS in Auto Mode (private nodes, built-in NLB support),
// secrets encrypted with a KMS key, all control-plane log types, an API endpoint
// reachable only from the allowed CIDRs; Elastic IPs for the manager's NLB; RDS
// PostgreSQL (Multi-AZ, encrypted, backed up, private).
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { execKubeconfig, loadBalancerBinding, type ManagerClusterArgs, type ManagerClusterRefs } from "./index.js";

const managed = (p: string) => `arn:aws:iam::aws:policy/${p}`;
export const EKS_CLUSTER_POLICIES = [
  "AmazonEKSClusterPolicy",
  "AmazonEKSComputePolicy",
  "AmazonEKSBlockStoragePolicy",
  "AmazonEKSLoadBalancingPolicy",
  "AmazonEKSNetworkingPolicy",
];
export const EKS_NODE_POLICIES = ["AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly"];
export const EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

export function createAwsManagerCluster(parent: pulumi.Resource, name: string, a: ManagerClusterArgs): ManagerClusterRefs {
  const opts = { parent };
  const tags = a.tags ?? {};
  const net = a.network;

  const key = new aws.kms.Key(
    `${name}-secrets`,
    { description: `framefleet ${name}: Kubernetes secrets and database`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
    opts,
  );

  const clusterRole = new aws.iam.Role(
    `${name}-cluster`,
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
      }),
      tags,
    },
    opts,
  );
  const clusterAttachments = EKS_CLUSTER_POLICIES.map(
    (p) => new aws.iam.RolePolicyAttachment(`${name}-cluster-${p}`, { role: clusterRole.name, policyArn: managed(p) }, opts),
  );
  const nodeRole = new aws.iam.Role(
    `${name}-node`,
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags,
    },
    opts,
  );
  const nodeAttachments = EKS_NODE_POLICIES.map(
    (p) => new aws.iam.RolePolicyAttachment(`${name}-node-${p}`, { role: nodeRole.name, policyArn: managed(p) }, opts),
  );

  const publicApi = a.apiAllowedCidrs.length > 0;
  const cluster = new aws.eks.Cluster(
    `${name}-eks`,
    {
      roleArn: clusterRole.arn,
      version: a.kubernetesVersion,
      bootstrapSelfManagedAddons: false,
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
      computeConfig: { enabled: true, nodePools: ["general-purpose", "system"], nodeRoleArn: nodeRole.arn },
      kubernetesNetworkConfig: { elasticLoadBalancing: { enabled: true } },
      storageConfig: { blockStorage: { enabled: true } },
      vpcConfig: {
        subnetIds: net.managerSubnetIds,
        endpointPrivateAccess: true,
        endpointPublicAccess: publicApi,
        publicAccessCidrs: publicApi ? a.apiAllowedCidrs : undefined,
      },
      encryptionConfig: { resources: ["secrets"], provider: { keyArn: key.arn } },
      enabledClusterLogTypes: EKS_LOG_TYPES,
      deletionProtection: true,
      tags,
    },
    { parent, dependsOn: [...clusterAttachments, ...nodeAttachments] },
  );

  // One Elastic IP per public subnet: the NLB's fixed addresses.
  const publicSubnetIds = net.publicSubnetIds ?? [];
  const eips = publicSubnetIds.map(
    (_, i) => new aws.ec2.Eip(`${name}-manager-${i}`, { domain: "vpc", tags: { ...tags, Name: `${name}-manager-${i}` } }, opts),
  );
  const binding = pulumi
    .all([pulumi.all(eips.map((e) => e.allocationId)), pulumi.all(publicSubnetIds)])
    .apply(([allocationIds, subnetIds]) => loadBalancerBinding({ cloud: "aws", allocationIds, publicSubnetIds: subnetIds }));

  // PostgreSQL: private subnets, reachable only from the cluster's security group.
  const dbSubnets = new aws.rds.SubnetGroup(`${name}-db`, { subnetIds: net.databaseSubnetIds, tags }, opts);
  const dbSg = new aws.ec2.SecurityGroup(
    `${name}-db`,
    {
      vpcId: net.networkId,
      description: "framefleet manager database: postgres from the manager cluster only",
      ingress: [
        {
          protocol: "tcp",
          fromPort: 5432,
          toPort: 5432,
          securityGroups: [cluster.vpcConfig.clusterSecurityGroupId],
          description: "manager cluster",
        },
      ],
      egress: [],
      tags,
    },
    opts,
  );
  const d = a.database ?? {};
  const db = new aws.rds.Instance(
    `${name}-db`,
    {
      engine: "postgres",
      engineVersion: "16",
      instanceClass: d.size ?? "db.m7g.large",
      allocatedStorage: d.storageGb ?? 100,
      maxAllocatedStorage: (d.storageGb ?? 100) * 4,
      storageType: "gp3",
      storageEncrypted: true,
      kmsKeyId: key.arn,
      multiAz: d.highAvailability ?? true,
      dbName: "framefleet",
      username: "framefleet",
      password: a.databasePassword,
      dbSubnetGroupName: dbSubnets.name,
      vpcSecurityGroupIds: [dbSg.id],
      publiclyAccessible: false,
      backupRetentionPeriod: d.backupRetentionDays ?? 14,
      copyTagsToSnapshot: true,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${name}-db-final`,
      autoMinorVersionUpgrade: true,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: key.arn,
      iamDatabaseAuthenticationEnabled: true,
      tags,
    },
    opts,
  );

  const kubeconfig = pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority]).apply(([clusterName, server, ca]) =>
    execKubeconfig({
      name: clusterName,
      server,
      caData: ca?.data ?? "",
      command: "aws",
      args: ["eks", "get-token", "--cluster-name", clusterName, "--region", a.region, "--output", "json"],
    }),
  );
  return {
    kubeconfig,
    staticIps: eips.map((e) => e.publicIp),
    binding,
    database: { host: db.address, port: 5432, name: "framefleet", user: "framefleet" },
    workload: { aws: { clusterName: cluster.name } },
  };
}
