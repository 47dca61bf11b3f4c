// The CrossGuard adapter: the policies built from the rules behave like the
// rules when CrossGuard calls them (ResourceValidationArgs / StackValidationArgs
// are faked here: there is no Pulumi CLI to drive a real analysis).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { toPolicies } from "./pack.js";
import { allRules } from "./rules/index.js";
import { T } from "./rules/network.js";

function resourceArgs(type: string, props: Record<string, unknown>, config: Record<string, unknown> = {}): ResourceValidationArgs {
  return {
    type,
    props,
    urn: `urn:pulumi:s::p::${type}::r`,
    name: "r",
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string): never => {
      throw new Error(reason);
    },
  };
}

function policyResource(type: string, name: string, props: Record<string, unknown>, secretOutputs: string[] = []): PolicyResource {
  return {
    type,
    name,
    props,
    urn: `urn:pulumi:s::p::${type}::${name}`,
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: secretOutputs,
    },
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  };
}

const policies = toPolicies();
const byName = (n: string) => policies.find((p) => p.name === n)!;

async function runResource(p: ResourceValidationPolicy, args: ResourceValidationArgs): Promise<string[]> {
  const msgs: string[] = [];
  const v = p.validateResource;
  for (const f of Array.isArray(v) ? v : v ? [v] : []) await f(args, (m) => msgs.push(m));
  return msgs;
}

describe("CrossGuard adapter", () => {
  it("builds one policy per rule with its level, remediation and config schema", () => {
    expect(policies.map((p) => p.name)).toEqual(allRules.map((r) => r.name));
    const ingress = byName("no-public-ingress");
    expect(ingress.enforcementLevel).toBe("mandatory");
    expect(ingress.remediationSteps).toMatch(/managerPorts/);
    expect(ingress.configSchema?.properties.managerPorts).toBeDefined();
    expect("validateStack" in byName("workers-in-private-subnets")).toBe(true);
  });

  it("a resource policy reports the rule's violations and honours policy config", async () => {
    const p = byName("imdsv2-required") as ResourceValidationPolicy;
    expect(await runResource(p, resourceArgs(T.awsLaunchTemplate, { metadataOptions: { httpTokens: "optional" } }))).toHaveLength(1);
    expect(await runResource(p, resourceArgs(T.awsLaunchTemplate, { metadataOptions: { httpTokens: "required" } }))).toEqual([]);
    expect(await runResource(p, resourceArgs("aws:s3/bucket:Bucket", {}))).toEqual([]);
    const ing = byName("no-public-ingress") as ResourceValidationPolicy;
    const sg = { ingress: [{ protocol: "tcp", fromPort: 9443, toPort: 9443, cidrBlocks: ["0.0.0.0/0"] }] };
    const managerSg = (cfg: Record<string, unknown>) => ({
      ...resourceArgs(T.awsSecurityGroup, sg, cfg),
      urn: "urn:pulumi:s::p::framefleet:manager:ManagerCluster$aws:ec2/securityGroup:SecurityGroup::lb",
    });
    expect(await runResource(ing, managerSg({}))).toHaveLength(1);
    expect(await runResource(ing, managerSg({ managerPorts: [9443] }))).toEqual([]);
  });

  it("a stack policy sees additionalSecretOutputs as secret paths and reports with the resource's URN", async () => {
    const p = byName("ca-private-keys-secret") as StackValidationPolicy;
    const key = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----";
    const run = async (secretOutputs: string[]) => {
      const reports: [string, string | undefined][] = [];
      const args: StackValidationArgs = {
        resources: [policyResource("pulumi-nodejs:dynamic:Resource", "root-ca", { certPem: "c", keyPem: key }, secretOutputs)],
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (): never => {
          throw new Error("n/a");
        },
      };
      await p.validateStack(args, (m, urn) => reports.push([m, urn]));
      return reports;
    };
    const bad = await run([]);
    expect(bad).toHaveLength(1);
    expect(bad[0]![1]).toBe("urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::root-ca");
    expect(await run(["keyPem"])).toEqual([]);
  });

  it("the package entry (what the Pulumi CLI require()s) constructs the pack and serves it: the analyzer prints its port", async () => {
    const dir = fileURLToPath(new URL(".", import.meta.url));
    const child = spawn(process.execPath, ["-e", 'require(".")'], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const port = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no port printed; stderr: ${err}`)), 30_000);
      child.stdout.on("data", () => {
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}; stderr: ${err}`)));
    });
    child.kill();
    expect(Number(port)).toBeGreaterThan(0);
  });
});
