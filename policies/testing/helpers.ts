// Test helpers: build resources the way Pulumi records them, and run a rule's
// passing and failing cases. Used by the *.test.ts files and the coverage test.
import type { ResourceRule, ResourceView, Rule, RuleConfig, StackResourceView, StackRule } from "../rules/types.js";

/** A resource view; `under` names the component types above it (they end up in the URN like Pulumi's). */
export function res(
  type: string,
  props: Record<string, unknown>,
  name = "r",
  under: string[] = [],
  extra: Partial<StackResourceView> = {},
): StackResourceView {
  const qualified = [...under, type].join("$");
  return { type, name, urn: `urn:pulumi:test::framefleet::${qualified}::${name}`, props, ...extra };
}

export interface ResourceCases {
  rule: ResourceRule<RuleConfig>;
  pass: ResourceView[];
  /** each failing resource, with a pattern its message must match */
  fail: [ResourceView, RegExp][];
}

export interface StackCases {
  rule: StackRule<RuleConfig>;
  pass: StackResourceView[][];
  fail: [StackResourceView[], RegExp][];
}

export type Cases = ResourceCases | StackCases;

export function isStackCases(c: Cases): c is StackCases {
  return c.rule.kind === "stack";
}

export function casesFor(all: Cases[], rule: Rule): Cases | undefined {
  return all.find((c) => c.rule.name === rule.name);
}
