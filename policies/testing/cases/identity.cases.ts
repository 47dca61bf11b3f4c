import * as i from "../../rules/identity.js";
import { I } from "../../rules/identity.js";
import { K } from "../../rules/kubernetes.js";
import { T } from "../../rules/network.js";
import { res, type Cases } from "../helpers.js";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const hostPolicy = doc(
  { Sid: "ReadObjects", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::media-input/*"] },
  { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
  { Sid: "Deny", Effect: "Deny", Action: "*", Resource: "*" },
);

export const identityCases: Cases[] = [
  {
    rule: i.iamNoWildcardActions,
    pass: [
      res(I.awsRolePolicy, { role: "r", policy: hostPolicy }),
      res(I.awsPolicy, { policy: JSON.parse(hostPolicy) }),
      res(I.awsRole, { assumeRolePolicy: "{}", inlinePolicies: [{ name: "ok", policy: hostPolicy }] }),
      res(I.awsPolicy, { policy: doc({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::media-input/*" }) }),
    ],
    fail: [
      [res(I.awsRolePolicy, { policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) }), /every action/],
      [
        res(I.awsPolicy, { policy: doc({ Sid: "S3", Effect: "Allow", Action: ["s3:*"], Resource: "*" }) }),
        /\(S3\) allows s3:\* on every resource/,
      ],
      [res(I.awsPolicy, { policy: doc({ Effect: "Allow", NotAction: "iam:*", Resource: "*" }) }), /NotAction/],
      [res(I.awsPolicy, { policy: doc({ Effect: "Allow", Action: "iam:PassRole", Resource: "*" }) }), /PassRole/],
      [
        res(I.awsRole, { inlinePolicies: [{ name: "admin", policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) }] }),
        /inline policy "admin"/,
      ],
    ],
  },
  {
    rule: i.iamNoAdminGrants,
    pass: [
      res(I.awsRolePolicyAttachment, { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }),
      res(I.awsRolePolicyAttachment, { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" }),
      res(I.gcpProjectMember, { project: "p", role: "roles/logging.logWriter", member: "serviceAccount:x" }),
      res(I.azRoleAssignment, {
        principalId: "p",
        scope: "/s",
        roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
      }),
    ],
    fail: [
      [res(I.awsRolePolicyAttachment, { role: "r", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }), /AdministratorAccess/],
      [res(I.awsRolePolicyAttachment, { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" }), /AmazonS3FullAccess/],
      [res(I.awsRole, { managedPolicyArns: ["arn:aws:iam::aws:policy/PowerUserAccess"] }), /PowerUserAccess/],
      [res(I.gcpProjectMember, { project: "p", role: "roles/editor", member: "serviceAccount:x" }), /roles\/editor/],
      [res(I.gcpProjectBinding, { project: "p", role: "roles/owner", members: [] }), /roles\/owner/],
      [
        res(I.gcpProjectPolicy, {
          project: "p",
          policyData: JSON.stringify({ bindings: [{ role: "roles/storage.admin", members: ["x"] }] }),
        }),
        /storage\.admin/,
      ],
      [
        res(I.azRoleAssignment, {
          roleDefinitionId: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        }),
        /privileged built-in role/,
      ],
    ],
  },
  {
    rule: i.gcpNoDefaultServiceAccount,
    pass: [
      res(T.gcpRegionInstanceTemplate, { serviceAccount: { email: "ff-encode@p.iam.gserviceaccount.com", scopes: ["cloud-platform"] } }),
      res(T.gcpInstanceTemplate, {}),
      res(K.gke, { removeDefaultNodePool: true, initialNodeCount: 1 }),
      res(K.gke, { nodeConfig: { serviceAccount: "gke-nodes@p.iam.gserviceaccount.com" } }),
      res(K.gke, {
        enableAutopilot: true,
        clusterAutoscaling: { autoProvisioningDefaults: { serviceAccount: "ap@p.iam.gserviceaccount.com" } },
      }),
      res(K.gkeNodePool, { nodeConfig: { serviceAccount: "gke-nodes@p.iam.gserviceaccount.com" } }),
    ],
    fail: [
      [res(T.gcpRegionInstanceTemplate, { serviceAccount: { scopes: ["cloud-platform"] } }), /default compute service account/],
      [res(T.gcpInstance, { serviceAccount: { email: "123-compute@developer.gserviceaccount.com", scopes: [] } }), /default compute/],
      [res(K.gke, {}), /default node pool/],
      [res(K.gke, { enableAutopilot: true }), /Autopilot/],
      [res(K.gkeNodePool, { nodeConfig: {} }), /default compute/],
    ],
  },
];
