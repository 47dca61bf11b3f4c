// The example stacks from the Pulumi components issue, synthesized under mocks
// by `policies/cli.ts check` (one child process per stack, as a reviewer would
// run it): the insecure example fails with exactly the expected rules, every
// other example passes with no mandatory violation.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { checkResources, type Violation } from "./check.js";
import type { RecordedResource } from "../stacks/synth/types.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SYNTH = join(ROOT, "stacks/synth/index.ts");
const EXAMPLES = join(ROOT, "examples/stacks");
const INSECURE = "insecure";

/**
 * What examples/stacks/insecure is built to get wrong, and so exactly the mandatory rules it must
 * fail. The five defects the issue names come first; the rest follow from how the stack builds them
 * (a hand-made VPC with a public subnet, a bare Pod).
 */
const INSECURE_EXPECTED = [
  "worker-no-public-ip", // public worker IP: the launch template associates a public address
  "no-public-ingress", // open ingress: the worker security group admits 0.0.0.0/0 on every port
  "imdsv2-required", // IMDSv1: httpTokens "optional"
  "disk-encryption", // unencrypted disk: the root EBS volume has encrypted "false"
  "pod-no-privileged", // privileged pod
  "subnet-no-auto-public-ip", // the worker subnet maps public IPs on launch
  "workers-in-private-subnets", // ... and is routed to the internet gateway
  "no-secrets-in-user-data", // a long-lived join token in user data
  "pod-no-host-access", // the pod uses the host's network
  "pod-run-as-non-root", // ... runs as UID 0
  "pod-read-only-root-fs", // ... with a writable root filesystem
  "pod-resource-limits", // ... and no limits
  "vpc-flow-logs-present", // the hand-made VPC has no flow log
  "vpc-default-security-group-adopted", // ... and keeps its default security group's rules
];

const stacks = existsSync(EXAMPLES)
  ? readdirSync(EXAMPLES)
      .filter((d) => statSync(join(EXAMPLES, d)).isDirectory())
      .sort()
  : [];

function check(dir: string): { code: number | null; violations: Violation[]; output: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "policies/cli.ts", "check", dir, "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 170_000,
  });
  const output = `${r.stdout}\n${r.stderr}`;
  const at = r.stdout.lastIndexOf('{\n  "violations"');
  if (at < 0) throw new Error(`policy check of ${dir} printed no result (exit ${r.status}):\n${output}`);
  const parsed = JSON.parse(r.stdout.slice(at)) as { violations: Violation[] };
  return { code: r.status, violations: parsed.violations, output };
}

const table = (vs: Violation[]) => vs.map((v) => `${v.level} ${v.rule} ${v.resource}: ${v.message}`).join("\n");

describe("example stacks", { timeout: 180_000 }, () => {
  it("examples/stacks/insecure exists", () => {
    expect(
      stacks,
      `examples/stacks/${INSECURE} is missing: the policy pack's acceptance test needs the insecure example (public worker IP, open ingress, IMDSv1, unencrypted disk, privileged pod)`,
    ).toContain(INSECURE);
  });

  it("insecure fails with exactly the expected rules and exits non-zero", () => {
    const { code, violations } = check(`examples/stacks/${INSECURE}`);
    const mandatory = [...new Set(violations.filter((v) => v.level === "mandatory").map((v) => v.rule))].sort();
    expect(mandatory, table(violations)).toEqual([...INSECURE_EXPECTED].sort());
    expect(code).toBe(1);
  });

  it.runIf(stacks.includes("aws-region"))("the CA keys in aws-region are found, and pass only because they are secrets", async () => {
    const { synthStack } = (await import(pathToFileURL(SYNTH).href)) as {
      synthStack: (d: string, o?: { isolate?: boolean }) => Promise<RecordedResource[]>;
    };
    const records = await synthStack(join(EXAMPLES, "aws-region"), { isolate: true });
    const keyed = records.filter((r) => (r.secretPaths ?? []).length > 0 && JSON.stringify(r.inputs).includes("PRIVATE KEY"));
    expect(keyed.length, "expected CA material with private keys in the recorded inputs").toBeGreaterThan(0);
    expect(checkResources(records).filter((v) => v.rule === "ca-private-keys-secret")).toEqual([]);
    const unmarked = records.map(({ secretPaths: _dropped, ...r }) => r);
    const leaks = checkResources(unmarked).filter((v) => v.rule === "ca-private-keys-secret");
    expect(leaks.map((v) => v.resource)).toEqual(
      expect.arrayContaining(keyed.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.name)),
    );
  });

  const secure = stacks.filter((s) => s !== INSECURE);
  it("there is at least one secure example stack", () => {
    expect(secure.length).toBeGreaterThan(0);
  });
  for (const s of secure) {
    it(`${s} passes with no mandatory violation`, () => {
      const { code, violations, output } = check(`examples/stacks/${s}`);
      const mandatory = violations.filter((v) => v.level === "mandatory");
      expect(mandatory, table(mandatory) || output).toEqual([]);
      expect(code).toBe(0);
    });
  }
});
