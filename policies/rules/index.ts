// Every framefleet rule, in one list. The pack (../index.ts), the offline
// checker (../check.ts) and the docs are all driven from this list.
import { networkRules } from "./network.js";
import { computeRules } from "./compute.js";
import { kubernetesRules } from "./kubernetes.js";
import { storageRules } from "./storage.js";
import { identityRules } from "./identity.js";
import { pkiRules } from "./pki.js";
import type { ResourceRule, Rule, StackRule } from "./types.js";

export * from "./types.js";

export const allRules: Rule[] = [...networkRules, ...computeRules, ...kubernetesRules, ...storageRules, ...identityRules, ...pkiRules];

export const resourceRules = allRules.filter((r): r is ResourceRule => r.kind === "resource");
export const stackRules = allRules.filter((r): r is StackRule => r.kind === "stack");

export function ruleByName(name: string): Rule | undefined {
  return allRules.find((r) => r.name === name);
}
