// The offline checker and the CLI over hand-built records (the shape
// stacks/synth records), independent of any example stack.
import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../stacks/synth/types.js";
import { checkResources, effectiveLevel, formatTable, hasMandatory, runPolicyCheck, toView } from "./check.js";
import { main } from "./cli.js";
import { ruleByName } from "./rules/index.js";
import { T } from "./rules/network.js";
import { K } from "./rules/kubernetes.js";
import { PEM_KEY } from "./testing/cases/pki.cases.js";

const rec = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  under: string[] = [],
  extra: Partial<RecordedResource> = {},
): RecordedResource => ({
  type,
  name,
  urn: `urn:pulumi:synth::framefleet::${[...under, type].join("$")}::${name}`,
  inputs,
  ...extra,
});
const WRK = ["framefleet:region:Region", "framefleet:workers:WorkerPool"];

/** A small insecure AWS pool: IMDSv1, unencrypted disk, public IP. */
const insecure: RecordedResource[] = [
  rec(
    T.awsLaunchTemplate,
    "encode-lt",
    {
      metadataOptions: { httpTokens: "optional" },
      networkInterfaces: [{ associatePublicIpAddress: "true" }],
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }],
    },
    WRK,
  ),
  rec(T.awsSecurityGroup, "encode-sg", { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }] }, WRK),
  rec(K.deployment, "debug", {
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: "c",
              securityContext: {
                privileged: true,
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
              },
              resources: { limits: { cpu: "1", memory: "1Gi" } },
            },
          ],
        },
      },
    },
  }),
];
const clean: RecordedResource[] = [
  rec(
    T.awsLaunchTemplate,
    "encode-lt",
    {
      metadataOptions: { httpTokens: "required" },
      networkInterfaces: [{ associatePublicIpAddress: "false" }],
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }],
    },
    WRK,
  ),
];

describe("checkResources", () => {
  it("reports each failing rule against the resource, with level and remediation", () => {
    const vs = checkResources(insecure);
    expect(new Set(vs.map((v) => v.rule))).toEqual(
      new Set(["imdsv2-required", "disk-encryption", "worker-no-public-ip", "no-public-ingress", "pod-no-privileged"]),
    );
    const imds = vs.find((v) => v.rule === "imdsv2-required")!;
    expect(imds).toMatchObject({ resource: "encode-lt", type: T.awsLaunchTemplate, level: "mandatory", domain: "compute" });
    expect(imds.remediation).toBe(ruleByName("imdsv2-required")!.remediation);
    expect(hasMandatory(vs)).toBe(true);
    expect(checkResources(clean)).toEqual([]);
  });

  it("applies policy config: per-rule level, 'all', disabled, remediate and rule settings", () => {
    const levels = (cfg: Parameters<typeof checkResources>[1]) =>
      Object.fromEntries(checkResources(insecure, cfg).map((v) => [v.rule, v.level]));
    expect(levels({ "imdsv2-required": "advisory" })["imdsv2-required"]).toBe("advisory");
    expect(levels({ "imdsv2-required": { enforcementLevel: "disabled" } })["imdsv2-required"]).toBeUndefined();
    expect(levels({ all: "advisory" })["disk-encryption"]).toBe("advisory");
    expect(levels({ all: "advisory", "disk-encryption": "mandatory" })["disk-encryption"]).toBe("mandatory");
    expect(levels({ "pod-no-privileged": "remediate" })["pod-no-privileged"]).toBe("mandatory");
    expect(hasMandatory(checkResources(insecure, { all: "advisory" }))).toBe(false);
    // a setting: allow port 22 from the world on this SG's rule? no -- managerPorts only applies to manager resources
    expect(checkResources(insecure, { "no-public-ingress": { managerPorts: [22] } }).some((v) => v.rule === "no-public-ingress")).toBe(
      true,
    );
    expect(effectiveLevel(ruleByName("gcp-private-google-access")!, {})).toBe("advisory");
  });

  it("runs stack rules on the whole record set and names the offending resource", () => {
    const vs = checkResources([
      rec("pulumi-nodejs:dynamic:Resource", "root-ca", { keyPem: PEM_KEY }, ["framefleet:pki:CertificateAuthority"]),
    ]);
    expect(vs).toEqual([expect.objectContaining({ rule: "ca-private-keys-secret", resource: "root-ca", level: "mandatory" })]);
    const ok = checkResources([
      rec("pulumi-nodejs:dynamic:Resource", "root-ca", { keys: [{ pem: PEM_KEY }] }, [], { secretPaths: ["keys[0]"] }),
    ]);
    expect(ok).toEqual([]);
  });

  it("normalizes recorder secret paths (a.b[0]) to rule paths (a.b.0)", () => {
    expect(toView(rec("t:m:T", "n", {}, [], { secretPaths: ["a.b[0].c"] })).secretPaths).toEqual(["a.b.0.c"]);
  });
});

describe("formatTable", () => {
  it("prints one row per violation with every column, wrapping long text", () => {
    const out = formatTable(checkResources(insecure));
    const lines = out.split("\n");
    expect(lines[1]).toMatch(/\| RULE +\| RESOURCE +\| LEVEL +\| MESSAGE +\| REMEDIATION +\|/);
    expect(out).toMatch(/imdsv2-required/);
    expect(out).toMatch(/encode-lt/);
    expect(out).toMatch(/httpTokens/);
    const width = lines[0]!.length;
    expect(lines.every((l) => l.length === width)).toBe(true);
  });
});

describe("runPolicyCheck and the CLI", () => {
  const synth = async () => insecure;
  it("exits 1 on a mandatory violation and prints the table", async () => {
    const res = await runPolicyCheck("examples/stacks/whatever", { synth });
    expect(res.exitCode).toBe(1);
    const out: string[] = [];
    const code = await main(["check", "examples/stacks/whatever"], { out: (s) => out.push(s), err: (s) => out.push(s), synth });
    expect(code).toBe(1);
    expect(out.join("\n")).toMatch(/\| imdsv2-required +\|/);
    expect(out.join("\n")).toMatch(/3 resources checked against \d+ rules: \d+ mandatory/);
  });
  it("exits 0 when only advisory violations remain (policy config file)", async () => {
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const cfg = join(mkdtempSync(join(tmpdir(), "ffpol-")), "policy-config.json");
    writeFileSync(cfg, JSON.stringify({ all: "advisory" }));
    const out: string[] = [];
    expect(await main(["check", "x", "--config", cfg, "--json"], { out: (s) => out.push(s), err: (s) => out.push(s), synth })).toBe(0);
    const parsed = JSON.parse(out.join("\n")) as { violations: { level: string }[]; exitCode: number };
    expect(parsed.exitCode).toBe(0);
    expect(parsed.violations.length).toBeGreaterThan(0);
    expect(parsed.violations.every((v) => v.level === "advisory")).toBe(true);
  });
  it("exits 0 on a clean stack, 2 on usage errors and synthesis failures", async () => {
    const sink = { out: () => {}, err: () => {} };
    expect(await main(["check", "x"], { ...sink, synth: async () => clean })).toBe(0);
    expect(await main([], sink)).toBe(2);
    expect(await main(["check"], sink)).toBe(2);
    expect(await main(["check", "x", "--bogus"], sink)).toBe(2);
    const errs: string[] = [];
    expect(
      await main(["check", "x"], {
        out: () => {},
        err: (s) => errs.push(s),
        synth: async () => Promise.reject(new Error("framefleet:cloud is required")),
      }),
    ).toBe(2);
    expect(errs.join()).toMatch(/framefleet:cloud is required/);
  });
  it("lists the rules", async () => {
    const out: string[] = [];
    expect(await main(["rules"], { out: (s) => out.push(s), err: () => {} })).toBe(0);
    expect(out.some((l) => /^workers-in-private-subnets +stack +mandatory/.test(l))).toBe(true);
  });
});
