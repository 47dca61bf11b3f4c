import { describe, expect, it } from "vitest";
import { runCases } from "../testing/run-cases.js";
import { kubernetesCases } from "../testing/cases/kubernetes.cases.js";
import { K, k8sControlPlaneLogging, podSpecOf } from "./kubernetes.js";
import { res } from "../testing/helpers.js";

runCases(kubernetesCases);

describe("kubernetes helpers and settings", () => {
  it("finds the pod spec in every workload kind", () => {
    const spec = { containers: [{ name: "x" }] };
    expect(podSpecOf(res(K.pod, { spec }))).toBe(spec);
    expect(podSpecOf(res(K.deployment, { spec: { template: { spec } } }))).toBe(spec);
    expect(podSpecOf(res(K.cronJob, { spec: { jobTemplate: { spec: { template: { spec } } } } }))).toBe(spec);
    expect(podSpecOf(res(K.deployment, {}))).toBeUndefined();
  });
  it("k8s-control-plane-logging takes the required EKS log types from config", () => {
    const c = res(K.eks, { enabledClusterLogTypes: ["api", "audit", "authenticator"] });
    expect(k8sControlPlaneLogging.check(c)).toEqual([]);
    expect(k8sControlPlaneLogging.check(c, { eksLogTypes: ["api", "audit", "authenticator", "scheduler"] })).toEqual([
      expect.stringMatching(/lacks scheduler/),
    ]);
  });
});
