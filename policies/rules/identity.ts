// Identity rules: least privilege for hosts and services. No wildcard IAM
// actions, no administrator-class grants, no default compute service account.
import { resourceRule } from "./types.js";
import { K } from "./kubernetes.js";
import { T } from "./network.js";
import { get, isObj, isTrue, label, objs, strs, type Obj } from "./util.js";

export const I = {
  awsPolicy: "aws:iam/policy:Policy",
  awsRolePolicy: "aws:iam/rolePolicy:RolePolicy",
  awsUserPolicy: "aws:iam/userPolicy:UserPolicy",
  awsGroupPolicy: "aws:iam/groupPolicy:GroupPolicy",
  awsRole: "aws:iam/role:Role",
  awsRolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  awsPolicyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
  gcpProjectMember: "gcp:projects/iAMMember:IAMMember",
  gcpProjectBinding: "gcp:projects/iAMBinding:IAMBinding",
  gcpProjectPolicy: "gcp:projects/iAMPolicy:IAMPolicy",
  azRoleAssignment: "azure-native:authorization:RoleAssignment",
} as const;

function parseDoc(v: unknown): Obj | undefined {
  if (isObj(v)) return v;
  if (typeof v !== "string") return undefined;
  try {
    const d = JSON.parse(v);
    return isObj(d) ? d : undefined;
  } catch {
    return undefined;
  }
}

/** Over-broad Allow statements in an IAM policy document. */
export function wildcardFindings(doc: unknown): string[] {
  const d = parseDoc(doc);
  if (!d) return [];
  const out: string[] = [];
  objs(Array.isArray(d.Statement) ? d.Statement : [d.Statement]).forEach((s, i) => {
    if (s.Effect !== "Allow") return;
    const sid = s.Sid ? ` (${String(s.Sid)})` : ` [${i}]`;
    if (s.NotAction !== undefined) out.push(`statement${sid} allows NotAction (everything except a list)`);
    const actions = strs(s.Action);
    const resources = strs(s.Resource);
    const anyResource = resources.includes("*") || s.NotResource !== undefined;
    if (actions.includes("*") || actions.includes("*:*")) out.push(`statement${sid} allows every action`);
    else {
      const svcWild = actions.filter((a) => /^[a-z0-9-]+:\*$/i.test(a));
      if (svcWild.length && anyResource) out.push(`statement${sid} allows ${svcWild.join(", ")} on every resource`);
      if (actions.some((a) => a.toLowerCase() === "iam:passrole") && anyResource)
        out.push(`statement${sid} allows iam:PassRole on every role`);
    }
  });
  return out;
}

export const iamNoWildcardActions = resourceRule({
  name: "iam-no-wildcard-actions",
  description: 'AWS IAM policies grant named actions: no Action "*", no NotAction, no "service:*" or iam:PassRole on Resource "*".',
  remediation:
    "List the actions the host or service needs and scope Resource to the customer's buckets, the mirror's repositories and the log group.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "identity",
  clouds: ["aws"],
  types: [I.awsPolicy, I.awsRolePolicy, I.awsUserPolicy, I.awsGroupPolicy, I.awsRole],
  defaults: {},
  check(r) {
    if (r.type === I.awsRole) {
      return objs(r.props.inlinePolicies).flatMap((p) =>
        wildcardFindings(p.policy).map((m) => `${label(r)}: inline policy "${String(p.name ?? "?")}" ${m}`),
      );
    }
    return wildcardFindings(r.props.policy).map((m) => `${label(r)}: ${m}`);
  },
});

interface AdminCfg extends Record<string, unknown> {
  awsDeniedPolicyPatterns: string[];
  gcpDeniedRoles: string[];
  azureDeniedRoleIds: string[];
}

const ADMIN_DEFAULTS: AdminCfg = {
  awsDeniedPolicyPatterns: [":policy/AdministratorAccess$", ":policy/PowerUserAccess$", ":policy/IAMFullAccess$", "FullAccess$"],
  gcpDeniedRoles: [
    "roles/owner",
    "roles/editor",
    "roles/iam.securityAdmin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountUser",
    "roles/resourcemanager.projectIamAdmin",
    "roles/storage.admin",
  ],
  azureDeniedRoleIds: [
    "8e3af657-a8ff-443c-a75c-2fe8c4bfd635", // Owner
    "b24988ac-6180-42a0-ab88-20f7382dd24c", // Contributor
    "18d7d88d-d35f-4fb5-a5c3-7773c6a72d9c", // User Access Administrator
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168", // Role Based Access Control Administrator
  ],
};

export const iamNoAdminGrants = resourceRule<AdminCfg>({
  name: "iam-no-admin-grants",
  description:
    "No identity in the stack is given an administrator-class role: AWS AdministratorAccess/PowerUserAccess/*FullAccess managed policies, GCP basic roles (owner/editor) or IAM-admin roles at project level, Azure Owner/Contributor/User Access Administrator.",
  remediation:
    "Grant narrow roles on the specific resources (bucket-level roles, repository reader, a custom role) instead of project/subscription-wide administration.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "identity",
  clouds: ["aws", "gcp", "azure"],
  types: [
    I.awsRolePolicyAttachment,
    I.awsPolicyAttachment,
    I.awsRole,
    I.gcpProjectMember,
    I.gcpProjectBinding,
    I.gcpProjectPolicy,
    I.azRoleAssignment,
  ],
  defaults: ADMIN_DEFAULTS,
  configSchema: {
    properties: {
      awsDeniedPolicyPatterns: { type: "array", items: { type: "string" }, default: ADMIN_DEFAULTS.awsDeniedPolicyPatterns },
      gcpDeniedRoles: { type: "array", items: { type: "string" }, default: ADMIN_DEFAULTS.gcpDeniedRoles },
      azureDeniedRoleIds: { type: "array", items: { type: "string" }, default: ADMIN_DEFAULTS.azureDeniedRoleIds },
    },
  },
  check(r, cfg) {
    const p = r.props;
    const awsBad = (arn: unknown) => typeof arn === "string" && cfg.awsDeniedPolicyPatterns.some((pat) => new RegExp(pat).test(arn));
    switch (r.type) {
      case I.awsRolePolicyAttachment:
      case I.awsPolicyAttachment:
        return awsBad(p.policyArn) ? [`${label(r)}: attaches ${String(p.policyArn)}`] : [];
      case I.awsRole:
        return strs(p.managedPolicyArns)
          .filter(awsBad)
          .map((a) => `${label(r)}: managedPolicyArns includes ${a}`);
      case I.gcpProjectMember:
      case I.gcpProjectBinding:
        return cfg.gcpDeniedRoles.includes(String(p.role)) ? [`${label(r)}: grants ${String(p.role)} on the project`] : [];
      case I.gcpProjectPolicy: {
        const doc = parseDoc(p.policyData);
        return objs(doc?.bindings)
          .filter((b) => cfg.gcpDeniedRoles.includes(String(b.role)))
          .map((b) => `${label(r)}: policy binds ${String(b.role)} on the project`);
      }
      default: {
        const id = String(p.roleDefinitionId ?? "").toLowerCase();
        const hit = cfg.azureDeniedRoleIds.find((g) => id.endsWith(g.toLowerCase()));
        return hit ? [`${label(r)}: assigns a privileged built-in role (${hit})`] : [];
      }
    }
  },
});

const DEFAULT_SA = /-compute@developer\.gserviceaccount\.com$/;

export const gcpNoDefaultServiceAccount = resourceRule({
  name: "gcp-no-default-service-account",
  description:
    "GCP hosts and GKE nodes run as a dedicated service account, never the project's default compute service account (which has Editor on the project).",
  remediation:
    "Create a gcp.serviceaccount.Account per pool, grant it only the buckets and repositories it needs, and set serviceAccount.email (templates) / nodeConfig.serviceAccount (GKE).",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "identity",
  clouds: ["gcp"],
  types: [T.gcpInstanceTemplate, T.gcpRegionInstanceTemplate, T.gcpInstance, K.gke, K.gkeNodePool],
  defaults: {},
  check(r) {
    const p = r.props;
    if (r.type === K.gke) {
      if (isTrue(p.enableAutopilot)) {
        const sa = get(p, "clusterAutoscaling.autoProvisioningDefaults.serviceAccount");
        return typeof sa === "string" && sa && !DEFAULT_SA.test(sa) && sa !== "default"
          ? []
          : [`${label(r)}: Autopilot nodes use the default compute service account`];
      }
      if (isTrue(p.removeDefaultNodePool)) return [];
      const sa = get(p, "nodeConfig.serviceAccount");
      return typeof sa === "string" && sa && sa !== "default" && !DEFAULT_SA.test(sa)
        ? []
        : [`${label(r)}: default node pool uses the default compute service account`];
    }
    if (r.type === K.gkeNodePool) {
      const sa = get(p, "nodeConfig.serviceAccount");
      return typeof sa === "string" && sa && sa !== "default" && !DEFAULT_SA.test(sa)
        ? []
        : [`${label(r)}: nodes use the default compute service account`];
    }
    const sa = p.serviceAccount;
    if (!isObj(sa)) return []; // no service account attached at all
    const email = sa.email;
    if (typeof email !== "string" || email === "" || email === "default" || DEFAULT_SA.test(email))
      return [`${label(r)}: uses the default compute service account`];
    return [];
  },
});

export const identityRules = [iamNoWildcardActions, iamNoAdminGrants, gcpNoDefaultServiceAccount];
