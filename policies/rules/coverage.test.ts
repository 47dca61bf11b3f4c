// Every rule in the pack is exercised by at least one passing and one failing
// case, and is well-formed for CrossGuard.
import { describe, expect, it } from "vitest";
import { allRules, resourceRules, stackRules } from "./index.js";
import { casesFor, isStackCases, type Cases } from "../testing/helpers.js";
import { networkCases } from "../testing/cases/network.cases.js";
import { computeCases } from "../testing/cases/compute.cases.js";
import { kubernetesCases } from "../testing/cases/kubernetes.cases.js";
import { storageCases } from "../testing/cases/storage.cases.js";
import { identityCases } from "../testing/cases/identity.cases.js";
import { pkiCases } from "../testing/cases/pki.cases.js";

const all: Cases[] = [...networkCases, ...computeCases, ...kubernetesCases, ...storageCases, ...identityCases, ...pkiCases];

describe("the pack's rule set", () => {
  it("has at least 25 resource rules across AWS, GCP, Azure and Kubernetes, plus the stack rules", () => {
    expect(resourceRules.length).toBeGreaterThanOrEqual(25);
    for (const cloud of ["aws", "gcp", "azure", "kubernetes"] as const)
      expect(resourceRules.filter((r) => r.clouds.includes(cloud)).length).toBeGreaterThanOrEqual(5);
    expect(stackRules.map((r) => r.name)).toEqual(
      expect.arrayContaining(["manager-only-public-address", "workers-in-private-subnets", "ca-private-keys-secret"]),
    );
  });

  it("has unique kebab-case names and every field CrossGuard and the docs need", () => {
    const names = allRules.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const r of allRules) {
      expect(r.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(r.name).not.toBe("all");
      expect(r.description.length).toBeGreaterThan(20);
      expect(r.remediation.length).toBeGreaterThan(20);
      expect(["advisory", "mandatory"]).toContain(r.enforcementLevel);
      expect(["network", "compute", "kubernetes", "storage", "identity", "pki"]).toContain(r.domain);
      expect(Object.keys(r.configSchema?.properties ?? {})).not.toContain("enforcementLevel");
      for (const k of Object.keys(r.configSchema?.properties ?? {})) expect(Object.keys(r.defaults)).toContain(k);
    }
  });

  it("resource rules only look at real Pulumi type tokens", () => {
    for (const r of resourceRules)
      for (const t of r.types) expect(t).toMatch(/^(aws|gcp|azure-native|kubernetes):[A-Za-z0-9/]+:[A-Za-z0-9]+$/);
  });

  for (const rule of allRules) {
    it(`${rule.name} has a passing and a failing case`, () => {
      const c = casesFor(all, rule);
      expect(c, `no cases for ${rule.name}`).toBeDefined();
      expect(c!.pass.length).toBeGreaterThan(0);
      expect(c!.fail.length).toBeGreaterThan(0);
      expect(isStackCases(c!)).toBe(rule.kind === "stack");
    });
  }

  it("a rule ignores resources outside its type list", () => {
    for (const r of resourceRules) expect(r.check({ type: "random:index/randomId:RandomId", name: "x", urn: "u", props: {} })).toEqual([]);
  });
});
