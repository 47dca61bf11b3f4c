// Adapts the plain framefleet rules to CrossGuard policies. Kept apart from
// index.ts (which only constructs the PolicyPack, and thereby starts the
// analyzer's gRPC server) so that tests can build and exercise the policies.
import type {
  Policies,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { allRules, type ResourceRule, type Rule, type StackResourceView, type StackRule } from "./rules/index.js";

function remediationText(rule: Rule): string {
  return rule.remediation;
}

export function toResourcePolicy(rule: ResourceRule): ResourceValidationPolicy {
  const validate = (args: ResourceValidationArgs, report: ReportViolation) => {
    if (!rule.types.includes(args.type)) return;
    const config = args.getConfig<Record<string, unknown>>();
    for (const msg of rule.check({ type: args.type, name: args.name, urn: args.urn, props: args.props }, config)) report(msg);
  };
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    severity: rule.severity,
    remediationSteps: remediationText(rule),
    tags: [rule.domain, ...rule.clouds],
    ...(rule.configSchema ? { configSchema: rule.configSchema } : {}),
    validateResource: validate,
  };
}

/** Secret paths of a resource as CrossGuard shows it: outputs listed in additionalSecretOutputs. */
function secretPathsOf(r: PolicyResource): string[] {
  return [...(r.opts?.additionalSecretOutputs ?? [])];
}

export function toStackView(r: PolicyResource): StackResourceView {
  const v: StackResourceView = { type: r.type, name: r.name, urn: r.urn, props: r.props, secretPaths: secretPathsOf(r) };
  if (r.parent) v.parent = r.parent.urn;
  return v;
}

export function toStackPolicy(rule: StackRule): StackValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    severity: rule.severity,
    remediationSteps: remediationText(rule),
    tags: [rule.domain, ...rule.clouds],
    ...(rule.configSchema ? { configSchema: rule.configSchema } : {}),
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      const config = args.getConfig<Record<string, unknown>>();
      for (const v of rule.checkStack(args.resources.map(toStackView), config)) report(v.message, v.urn);
    },
  };
}

export function toPolicies(rules: Rule[] = allRules): Policies {
  return rules.map((r) => (r.kind === "resource" ? toResourcePolicy(r) : toStackPolicy(r)));
}

export const PACK_NAME = "framefleet";
export const PACK_DESCRIPTION =
  "framefleet security review: workers unreachable from outside, everything encrypted, mutual TLS, least privilege (AWS, GCP, Azure, Kubernetes).";
