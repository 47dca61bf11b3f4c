// WorkerPool on AWS: an Auto Scaling group with a mixed instances policy over a
// launch template (IMDSv2 required, encrypted gp3 root disk, no public IP), and
// an instance role that reaches only the pool's buckets, the mirror and the
// join-token secret.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { renderBootstrap } from "./bootstrap.js";
import { bootstrapOutput, type ValidPoolSpec, type WorkerPoolArgs, type WorkerPoolRefs } from "./index.js";

export const AWS_DEFAULT_AMI = {
  cpu: "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
  gpu: "resolve:ssm:/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
};

/** The ASG's mixed instances policy for a pool: values straight from configuration. */
export function awsMixedInstancesPolicy(
  spec: ValidPoolSpec,
  launchTemplateId: pulumi.Input<string>,
): aws.types.input.autoscaling.GroupMixedInstancesPolicy {
  return {
    instancesDistribution: {
      onDemandBaseCapacity: spec.onDemandBase,
      onDemandPercentageAboveBaseCapacity: spec.onDemandPercentageAboveBase,
      onDemandAllocationStrategy: "prioritized",
      spotAllocationStrategy: "price-capacity-optimized",
    },
    launchTemplate: {
      launchTemplateSpecification: { launchTemplateId, version: "$Latest" },
      overrides: spec.instanceTypes.map((t) => ({ instanceType: t.type, weightedCapacity: String(t.weight) })),
    },
  };
}

/** IAM policy for a pool's hosts: named buckets, the mirror's repositories, the join-token secret. Nothing else. */
export function awsHostPolicy(p: {
  readBuckets: string[];
  writeBuckets: string[];
  kmsKeyArns: string[];
  registryArn: string;
  joinTokenSecretArn: string;
}): object {
  const arn = (b: string) => `arn:aws:s3:::${b}`;
  const all = [...new Set([...p.readBuckets, ...p.writeBuckets])];
  const statements: object[] = [
    { Sid: "ListPoolBuckets", Effect: "Allow", Action: ["s3:ListBucket"], Resource: all.map(arn) },
    { Sid: "ReadObjects", Effect: "Allow", Action: ["s3:GetObject"], Resource: all.map((b) => `${arn(b)}/*`) },
    { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
    {
      Sid: "PullThroughMirror",
      Effect: "Allow",
      Action: [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchImportUpstreamImage",
        "ecr:CreateRepository",
      ],
      Resource: p.registryArn,
    },
    { Sid: "JoinToken", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: p.joinTokenSecretArn },
  ];
  if (p.writeBuckets.length) {
    statements.push({
      Sid: "WriteObjects",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: p.writeBuckets.map((b) => `${arn(b)}/*`),
    });
  }
  if (p.kmsKeyArns.length) {
    statements.push({ Sid: "BucketKeys", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: p.kmsKeyArns });
  }
  if (!all.length) statements.splice(0, 2);
  return { Version: "2012-10-17", Statement: statements };
}

export function createAwsWorkerPool(parent: pulumi.Resource, name: string, args: WorkerPoolArgs, spec: ValidPoolSpec): WorkerPoolRefs {
  const opts = { parent };
  const tags = { ...args.tags, "framefleet:pool": spec.name, "framefleet:pool-kind": spec.kind };

  const role = new aws.iam.Role(
    `${name}-host`,
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      description: `framefleet ${spec.name} hosts`,
      tags,
    },
    opts,
  );
  const a = args.access;
  new aws.iam.RolePolicy(
    `${name}-host`,
    {
      role: role.id,
      policy: pulumi
        .all([pulumi.all(a.readBuckets), pulumi.all(a.writeBuckets), pulumi.all(a.kmsKeyArns ?? []), a.registry, a.joinTokenSecret])
        .apply(([readBuckets, writeBuckets, kmsKeyArns, registryArn, joinTokenSecretArn]) =>
          JSON.stringify(awsHostPolicy({ readBuckets, writeBuckets, kmsKeyArns, registryArn, joinTokenSecretArn })),
        ),
    },
    opts,
  );
  const profile = new aws.iam.InstanceProfile(`${name}-host`, { role: role.name, tags }, opts);

  const userData = bootstrapOutput(args, spec, renderBootstrap);
  const lt = new aws.ec2.LaunchTemplate(
    `${name}-lt`,
    {
      description: `framefleet ${spec.name} (${spec.gpu ? "GPU" : "CPU"})`,
      imageId: spec.machineImage ?? (spec.gpu ? AWS_DEFAULT_AMI.gpu : AWS_DEFAULT_AMI.cpu),
      userData: userData.apply((u) => Buffer.from(u).toString("base64")),
      updateDefaultVersion: true,
      iamInstanceProfile: { arn: profile.arn },
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      // the host's name starts with its instance id (i-….<region>.compute.internal): the manager's autoscaler
      // finds the coordinator of each ASG instance by it, and with IP names it would never see a host boot or idle
      privateDnsNameOptions: { hostnameType: "resource-name", enableResourceNameDnsARecord: true },
      blockDeviceMappings: [
        { deviceName: "/dev/xvda", ebs: { volumeSize: spec.diskGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } },
      ],
      networkInterfaces: [
        {
          deviceIndex: 0,
          associatePublicIpAddress: "false",
          deleteOnTermination: "true",
          securityGroups: [args.network.workerSecurityGroupId!],
        },
      ],
      monitoring: { enabled: true },
      tagSpecifications: [
        { resourceType: "instance", tags },
        { resourceType: "volume", tags },
      ],
      tags,
    },
    opts,
  );

  const asg = new aws.autoscaling.Group(
    `${name}-asg`,
    {
      vpcZoneIdentifiers: args.network.workerSubnetIds,
      minSize: 0,
      maxSize: spec.maxSize,
      capacityRebalance: true,
      mixedInstancesPolicy: awsMixedInstancesPolicy(spec, lt.id),
      healthCheckType: "EC2",
      defaultInstanceWarmup: 120,
      waitForCapacityTimeout: "0",
      tags: Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
    },
    // The runtime autoscaler owns the desired capacity.
    { parent, ignoreChanges: ["desiredCapacity"] },
  );

  return { groups: { asg: asg.name }, groupIds: [asg.arn], identity: role.arn, userData };
}
