// The shape of a framefleet policy rule. Rules are plain objects with plain
// functions so that tests, the offline checker (check.ts) and the CrossGuard
// adapter (pack.ts) all run exactly the same code.
import type { EnforcementLevel, PolicyConfigSchema } from "@pulumi/policy";

export type { EnforcementLevel };
export type Cloud = "aws" | "gcp" | "azure" | "kubernetes";
export type Domain = "network" | "compute" | "kubernetes" | "storage" | "identity" | "pki";
export type Severity = "low" | "medium" | "high" | "critical";

/** One resource as a rule sees it: Pulumi type token, logical name, URN and (input) properties. */
export interface ResourceView {
  type: string;
  name: string;
  urn: string;
  props: Record<string, unknown>;
}

/** A resource as a stack rule sees it: adds the parent URN and the input paths that are secrets. */
export interface StackResourceView extends ResourceView {
  parent?: string;
  /** dotted paths into `props` whose values are Pulumi secrets, e.g. "privateKeyPem" or "data.tls\\.key" */
  secretPaths?: string[];
}

export interface StackViolation {
  message: string;
  /** the resource at fault; absent when the stack as a whole is at fault */
  urn?: string;
}

/** Rule-specific settings; each rule declares defaults, policy config may override them. */
export type RuleConfig = Record<string, unknown>;

interface RuleBase<C extends RuleConfig> {
  /** kebab-case, unique within the pack; the CrossGuard policy name */
  name: string;
  description: string;
  /** what to change when the rule fails */
  remediation: string;
  /** default level; policy config (`{"<name>": "advisory"}` or `{"<name>": {"enforcementLevel": ...}}`) overrides it */
  enforcementLevel: EnforcementLevel;
  severity: Severity;
  domain: Domain;
  clouds: Cloud[];
  /** defaults for the rule's settings (merged under policy config) */
  defaults: C;
  /** JSON schema for the settings, published to Pulumi Cloud */
  configSchema?: PolicyConfigSchema;
}

export interface ResourceRule<C extends RuleConfig = RuleConfig> extends RuleBase<C> {
  kind: "resource";
  /** Pulumi type tokens this rule inspects; other resources are not applicable */
  types: readonly string[];
  /** violation messages; empty when the resource complies */
  check(resource: ResourceView, config?: Partial<C>): string[];
}

export interface StackRule<C extends RuleConfig = RuleConfig> extends RuleBase<C> {
  kind: "stack";
  checkStack(resources: StackResourceView[], config?: Partial<C>): StackViolation[];
}

export type Rule = ResourceRule<RuleConfig> | StackRule<RuleConfig>;

/** Define a resource rule; `check` receives the settings merged over the defaults. */
export function resourceRule<C extends RuleConfig>(
  def: Omit<ResourceRule<C>, "kind" | "check"> & { check(r: ResourceView, config: C): string[] },
): ResourceRule<C> {
  const inner = def.check;
  return {
    ...def,
    kind: "resource",
    check(r, config) {
      if (!def.types.includes(r.type)) return [];
      return inner(r, { ...def.defaults, ...(config ?? {}) } as C);
    },
  };
}

export function stackRule<C extends RuleConfig>(
  def: Omit<StackRule<C>, "kind" | "checkStack"> & { checkStack(rs: StackResourceView[], config: C): StackViolation[] },
): StackRule<C> {
  const inner = def.checkStack;
  return {
    ...def,
    kind: "stack",
    checkStack(rs, config) {
      return inner(rs, { ...def.defaults, ...(config ?? {}) } as C);
    },
  };
}
