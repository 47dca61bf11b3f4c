// The manager's own cloud identity, bound to its Kubernetes service account by
// each cloud's workload identity (EKS Pod Identity / GKE Workload Identity /
// Entra Workload ID): the runtime autoscaler resizes the pools' groups and
// terminates chosen hosts, and the manager presigns task-scoped storage URLs.
// Scope: the pools' groups and the region's buckets; nothing else.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import { type Cloud, gcpAccountId, unreachable } from "../common.js";

export const MANAGER_SERVICE_ACCOUNT = "framefleet-manager";
const ROLE_VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c";
const ROLE_BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

export interface WorkloadIdentityRefs {
  aws?: { clusterName: pulumi.Output<string> };
  gcp?: { workloadPool: pulumi.Output<string>; project: pulumi.Output<string> };
  azure?: { issuerUrl: pulumi.Output<string>; resourceGroupName: pulumi.Input<string>; subscriptionId: pulumi.Output<string> };
}

export interface ManagerIdentityArgs {
  cloud: Cloud;
  region: string;
  namespace: string;
  workload: WorkloadIdentityRefs;
  /** AWS: ASG ARNs; GCP: MIG self links (informational, see below); Azure: VMSS ids */
  groupIds: pulumi.Input<string>[];
  /** AWS/GCP: bucket names; Azure: container ids */
  buckets: pulumi.Input<string>[];
  kmsKeyArns?: pulumi.Input<string>[];
  tags?: Record<string, string>;
}

export interface ManagerIdentity {
  serviceAccountAnnotations: pulumi.Output<Record<string, string>>;
  podLabels: Record<string, string>;
}

/** AWS policy for the manager: scale and prune the named groups, presign on the named buckets. */
export function awsManagerPolicy(p: { groupArns: string[]; buckets: string[]; kmsKeyArns: string[] }): object {
  const statements: object[] = [
    {
      Sid: "Describe",
      Effect: "Allow",
      Action: ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities", "ec2:DescribeInstances"],
      Resource: "*",
    },
    {
      Sid: "ScalePools",
      Effect: "Allow",
      Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
      Resource: p.groupArns,
    },
  ];
  if (p.buckets.length) {
    statements.push(
      { Sid: "ListBuckets", Effect: "Allow", Action: ["s3:ListBucket"], Resource: p.buckets.map((b) => `arn:aws:s3:::${b}`) },
      {
        Sid: "Objects",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        Resource: p.buckets.map((b) => `arn:aws:s3:::${b}/*`),
      },
    );
  }
  if (p.kmsKeyArns.length)
    statements.push({ Sid: "BucketKeys", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: p.kmsKeyArns });
  if (!p.groupArns.length) statements.splice(1, 1);
  return { Version: "2012-10-17", Statement: statements };
}

export function createManagerIdentity(parent: pulumi.Resource, name: string, a: ManagerIdentityArgs): ManagerIdentity {
  const opts = { parent };
  const ksa = MANAGER_SERVICE_ACCOUNT;
  switch (a.cloud) {
    case "aws": {
      const role = new aws.iam.Role(
        `${name}-manager`,
        {
          assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
            ],
          }),
          description: "framefleet manager (EKS Pod Identity)",
          tags: a.tags,
        },
        opts,
      );
      new aws.iam.RolePolicy(
        `${name}-manager`,
        {
          role: role.id,
          policy: pulumi
            .all([pulumi.all(a.groupIds), pulumi.all(a.buckets), pulumi.all(a.kmsKeyArns ?? [])])
            .apply(([groupArns, buckets, kmsKeyArns]) => JSON.stringify(awsManagerPolicy({ groupArns, buckets, kmsKeyArns }))),
        },
        opts,
      );
      new aws.eks.PodIdentityAssociation(
        `${name}-manager`,
        { clusterName: a.workload.aws!.clusterName, namespace: a.namespace, serviceAccount: ksa, roleArn: role.arn, tags: a.tags },
        opts,
      );
      return { serviceAccountAnnotations: pulumi.output<Record<string, string>>({}), podLabels: {} };
    }
    case "gcp": {
      const w = a.workload.gcp!;
      const gsa = new gcp.serviceaccount.Account(
        `${name}-manager`,
        {
          project: w.project,
          accountId: gcpAccountId("ff-manager", a.region),
          displayName: "framefleet manager",
        },
        opts,
      );
      new gcp.serviceaccount.IAMMember(
        `${name}-manager-wi`,
        {
          serviceAccountId: gsa.name,
          role: "roles/iam.workloadIdentityUser",
          member: pulumi.interpolate`serviceAccount:${w.workloadPool}[${a.namespace}/${ksa}]`,
        },
        opts,
      );
      // MIGs have no resource-level IAM: resizing and deleting instances needs the project-level instance admin role.
      new gcp.projects.IAMMember(
        `${name}-manager-compute`,
        { project: w.project, role: "roles/compute.instanceAdmin.v1", member: gsa.member },
        opts,
      );
      a.buckets.forEach(
        (bucket, i) =>
          new gcp.storage.BucketIAMMember(
            `${name}-manager-bucket-${i}`,
            { bucket, role: "roles/storage.objectUser", member: gsa.member },
            opts,
          ),
      );
      // Presigned (V4 signed) URLs are signed through the IAM signBlob API as this service account.
      new gcp.serviceaccount.IAMMember(
        `${name}-manager-sign`,
        { serviceAccountId: gsa.name, role: "roles/iam.serviceAccountTokenCreator", member: gsa.member },
        opts,
      );
      return {
        serviceAccountAnnotations: gsa.email.apply((email): Record<string, string> => ({ "iam.gke.io/gcp-service-account": email })),
        podLabels: {},
      };
    }
    case "azure": {
      const w = a.workload.azure!;
      const id = new managedidentity.UserAssignedIdentity(
        `${name}-manager`,
        { resourceGroupName: w.resourceGroupName, location: a.region, tags: a.tags },
        opts,
      );
      new managedidentity.FederatedIdentityCredential(
        `${name}-manager`,
        {
          resourceGroupName: w.resourceGroupName,
          resourceName: id.name,
          issuer: w.issuerUrl,
          subject: `system:serviceaccount:${a.namespace}:${ksa}`,
          audiences: ["api://AzureADTokenExchange"],
        },
        opts,
      );
      const role = (r: string) =>
        pulumi.interpolate`/subscriptions/${w.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${r}`;
      a.groupIds.forEach(
        (scope, i) =>
          new authorization.RoleAssignment(
            `${name}-manager-group-${i}`,
            { principalId: id.principalId, principalType: "ServicePrincipal", roleDefinitionId: role(ROLE_VM_CONTRIBUTOR), scope },
            opts,
          ),
      );
      a.buckets.forEach(
        (scope, i) =>
          new authorization.RoleAssignment(
            `${name}-manager-bucket-${i}`,
            { principalId: id.principalId, principalType: "ServicePrincipal", roleDefinitionId: role(ROLE_BLOB_CONTRIBUTOR), scope },
            opts,
          ),
      );
      return {
        serviceAccountAnnotations: id.clientId.apply((clientId): Record<string, string> => ({
          "azure.workload.identity/client-id": clientId,
        })),
        podLabels: { "azure.workload.identity/use": "true" },
      };
    }
    default:
      return unreachable(a.cloud, "cloud");
  }
}
