// synthStack: run a stack program under Pulumi's mocks and return every
// resource it declares, for reviewers and the policy pack's offline checker.
//
// How a stack is found in `dir`:
//   program: <dir>/index.ts if present, else Pulumi.yaml `main`, else stacks/index.ts
//   config:  <dir>/Pulumi.<stack>.yaml (the only one, or `opts.stack`); `secure:` values
//            become placeholder secrets (they cannot be decrypted here)
// Programs must export a default function and keep no module-level state:
// several stacks then run in one process, one at a time (calls are queued,
// because Pulumi's runtime settings are process-global). Pass `isolate: true`
// to run the stack in a child process instead (a fresh module graph).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFile } from "node:child_process";
import { parse as parseYaml } from "yaml";
import * as pulumi from "@pulumi/pulumi";
import type { RecordedResource } from "./types.js";
import { at, installRecorder, valueOf, type RecorderOptions } from "./recorder.js";

export type { RecordedResource } from "./types.js";
export { installRecorder, valueOf, at, unwrapSecrets } from "./recorder.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface SynthOptions {
  /** which Pulumi.<stack>.yaml to use when the directory has several */
  stack?: string;
  /** extra/overriding config, keyed like the YAML (`framefleet:cloud`) */
  config?: Record<string, unknown>;
  /** run in a child process (fresh module graph) */
  isolate?: boolean;
  /** extra mock behaviour (e.g. run dynamic providers for real) */
  recorder?: Pick<RecorderOptions, "newResource" | "call">;
}

export interface StackFiles {
  program: string;
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
}

/** Locate the program and flatten the stack's configuration into Pulumi's `project:key -> string` form. */
export function loadStackFiles(dir: string, opts: Pick<SynthOptions, "stack" | "config"> = {}): StackFiles {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new Error(`synth: no such directory ${dir}`);
  const project = existsSync(join(abs, "Pulumi.yaml"))
    ? (parseYaml(readFileSync(join(abs, "Pulumi.yaml"), "utf8")) as { name?: string; main?: string })
    : {};
  const candidates = readdirSync(abs).filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f));
  let file: string | undefined;
  if (opts.stack) file = candidates.find((f) => f.replace(/^Pulumi\.|\.ya?ml$/g, "") === opts.stack);
  else if (candidates.length === 1) file = candidates[0];
  if (!file && !opts.config)
    throw new Error(
      `synth: ${dir} has ${candidates.length ? `several stacks (${candidates.join(", ")}); pass a stack` : "no Pulumi.<stack>.yaml"}`,
    );
  const doc = file ? ((parseYaml(readFileSync(join(abs, file), "utf8")) ?? {}) as { config?: Record<string, unknown> }) : {};
  const raw = { ...(doc.config ?? {}), ...(opts.config ?? {}) };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (value && typeof value === "object" && "secure" in (value as object)) {
      config[key] = `mock-secret-for-${key}`;
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  const program = existsSync(join(abs, "index.ts"))
    ? join(abs, "index.ts")
    : project.main
      ? resolve(abs, project.main)
      : join(REPO_ROOT, "stacks/index.ts");
  return {
    program,
    project: project.name ?? "framefleet",
    stack: file ? file.replace(/^Pulumi\.|\.ya?ml$/g, "") : "synth",
    config,
    secretKeys,
  };
}

let queue: Promise<unknown> = Promise.resolve();

/** Run the stack in `dir` under mocks; resolves to every resource it declared. */
export function synthStack(dir: string, opts: SynthOptions = {}): Promise<RecordedResource[]> {
  if (opts.isolate) return synthInChild(dir, opts);
  const run = queue.then(() => synthInProcess(dir, opts));
  queue = run.catch(() => undefined);
  return run;
}

export class SynthError extends Error {
  constructor(
    message: string,
    readonly records: RecordedResource[],
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = "SynthError";
  }
}

async function synthInProcess(dir: string, opts: SynthOptions): Promise<RecordedResource[]> {
  const files = loadStackFiles(dir, opts);
  const rec = await installRecorder({ project: files.project, stack: files.stack, ...opts.recorder });
  pulumi.runtime.setAllConfig(files.config, files.secretKeys);
  try {
    const mod = (await import(pathToFileURL(files.program).href)) as { default?: () => unknown };
    if (typeof mod.default !== "function") throw new Error(`synth: ${files.program} must export a default function (the stack program)`);
    const outputs = await mod.default();
    await valueOf(pulumi.output(outputs as pulumi.Input<unknown>));
    await rec.settle();
  } catch (err) {
    await rec.settle().catch(() => undefined);
    const msg = err instanceof Error ? err.message : String(err);
    throw Object.assign(new SynthError(msg, [...rec.records], err), { name: err instanceof Error ? err.name : "SynthError" });
  } finally {
    pulumi.runtime.setAllConfig({});
  }
  return [...rec.records];
}

function synthInChild(dir: string, opts: SynthOptions): Promise<RecordedResource[]> {
  const args = ["--import", "tsx", join(REPO_ROOT, "stacks/synth/run.ts"), "--json", dir];
  if (opts.stack) args.push("--stack", opts.stack);
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, args, { cwd: REPO_ROOT, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`synth ${dir} failed: ${stderr.trim() || err.message}`));
      try {
        resolvePromise(JSON.parse(stdout) as RecordedResource[]);
      } catch (e) {
        reject(e);
      }
    });
  });
}

// ---- inventory -----------------------------------------------------------

/** The inputs a reviewer looks at first, per type; other types show their scalar inputs. */
export const KEY_INPUTS: Record<string, string[]> = {
  "aws:ec2/vpc:Vpc": ["cidrBlock"],
  "aws:ec2/subnet:Subnet": ["cidrBlock", "availabilityZone", "mapPublicIpOnLaunch"],
  "aws:ec2/route:Route": ["destinationCidrBlock", "gatewayId", "natGatewayId"],
  "aws:ec2/securityGroup:SecurityGroup": ["ingress", "egress"],
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ["ingress", "egress"],
  "aws:ec2/launchTemplate:LaunchTemplate": [
    "imageId",
    "metadataOptions.httpTokens",
    "blockDeviceMappings[0].ebs.encrypted",
    "networkInterfaces[0].associatePublicIpAddress",
  ],
  "aws:autoscaling/group:Group": [
    "minSize",
    "maxSize",
    "mixedInstancesPolicy.instancesDistribution.onDemandBaseCapacity",
    "mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity",
    "mixedInstancesPolicy.instancesDistribution.spotAllocationStrategy",
    "capacityRebalance",
  ],
  "aws:eks/cluster:Cluster": [
    "vpcConfig.endpointPublicAccess",
    "vpcConfig.publicAccessCidrs",
    "encryptionConfig.resources",
    "enabledClusterLogTypes",
  ],
  "aws:rds/instance:Instance": ["engine", "storageEncrypted", "publiclyAccessible", "backupRetentionPeriod", "multiAz"],
  "aws:s3/bucket:Bucket": ["bucket"],
  "gcp:compute/instanceTemplate:InstanceTemplate": [
    "machineType",
    "scheduling.provisioningModel",
    "guestAccelerators",
    "shieldedInstanceConfig.enableSecureBoot",
    "networkInterfaces[0].accessConfigs",
  ],
  "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": ["targetSize", "distributionPolicyTargetShape", "description"],
  "gcp:compute/firewall:Firewall": ["direction", "priority", "denies", "allows", "sourceRanges"],
  "gcp:container/cluster:Cluster": [
    "privateClusterConfig.enablePrivateNodes",
    "masterAuthorizedNetworksConfig.cidrBlocks",
    "databaseEncryption.state",
  ],
  "gcp:sql/databaseInstance:DatabaseInstance": [
    "databaseVersion",
    "settings.ipConfiguration.ipv4Enabled",
    "settings.backupConfiguration.enabled",
  ],
  "gcp:storage/bucket:Bucket": ["name", "versioning.enabled", "publicAccessPrevention", "encryption.defaultKmsKeyName"],
  "azure-native:compute:VirtualMachineScaleSet": [
    "orchestrationMode",
    "sku.name",
    "priorityMixPolicy",
    "virtualMachineProfile.priority",
    "virtualMachineProfile.evictionPolicy",
    "virtualMachineProfile.securityProfile.encryptionAtHost",
  ],
  "azure-native:network:NetworkSecurityGroup": ["securityRules"],
  "azure-native:network:Subnet": ["addressPrefix", "defaultOutboundAccess"],
  "azure-native:containerservice:ManagedCluster": ["apiServerAccessProfile", "disableLocalAccounts", "networkProfile.outboundType"],
  "azure-native:storage:StorageAccount": ["allowBlobPublicAccess", "allowSharedKeyAccess", "encryption.keySource"],
  "kubernetes:core/v1:Service": ["spec.type", "metadata.annotations", "spec.loadBalancerIP", "spec.loadBalancerClass"],
  "kubernetes:apps/v1:Deployment": [
    "spec.replicas",
    "spec.template.spec.containers[0].image",
    "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem",
  ],
};

function short(v: unknown, max = 70): string {
  if (typeof v === "string" && v.includes("-----BEGIN")) return "<pem>";
  const s = typeof v === "string" && !v.includes("\n") ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** One line of key inputs for a resource. */
export function keyInputs(r: RecordedResource): string {
  const paths = KEY_INPUTS[r.type];
  const parts: string[] = [];
  if (paths) {
    for (const p of paths) {
      const v = at(r.inputs, p);
      if (v !== undefined) parts.push(`${p}=${short(v)}`);
    }
  } else {
    for (const [k, v] of Object.entries(r.inputs)) {
      if (k.startsWith("__") || k === "pkiModule" || v === undefined || v === null) continue;
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") parts.push(`${k}=${short(v, 40)}`);
    }
  }
  if (r.secretPaths?.length) parts.push(`secrets=[${r.secretPaths.join(",")}]`);
  return parts.join("  ");
}

export function inventoryTable(records: RecordedResource[]): string {
  const rows = records.map((r) => [r.type, r.name, keyInputs(r)] as const);
  const w0 = Math.max(4, ...rows.map((r) => r[0].length));
  const w1 = Math.max(4, ...rows.map((r) => r[1].length));
  const lines = [`${"TYPE".padEnd(w0)}  ${"NAME".padEnd(w1)}  KEY INPUTS`, `${"-".repeat(w0)}  ${"-".repeat(w1)}  ----------`];
  for (const [t, n, k] of rows) lines.push(`${t.padEnd(w0)}  ${n.padEnd(w1)}  ${k}`);
  const byType = new Map<string, number>();
  for (const r of records) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  lines.push("", `${records.length} resources, ${byType.size} types`);
  return lines.join("\n");
}
