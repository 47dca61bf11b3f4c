// WorkerPool on every cloud, under Pulumi mocks (pulumi.runtime.setMocks): every
// registration is recorded and its inputs asserted; no cloud API is called.
/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk the recorded, untyped resource inputs */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { installRecorder, valueOf } from "../../stacks/synth/recorder.js";
import type { NetworkRefs } from "../network/index.js";
import { planAddressSpace } from "../network/plan.js";
import {
  WorkerPool,
  type WorkerPoolArgs,
  validatePoolSpec,
  poolHostGroups,
  splitCapacity,
  gcpGroupBounds,
  renderBootstrap,
  mirrorImage,
  type BootstrapOptions,
} from "./index.js";

const o = (s: string) => pulumi.output(s);
function refs(cloud: NetworkRefs["cloud"]): NetworkRefs {
  return {
    cloud,
    networkId: o("net"),
    workerSubnetIds: [o("subnet-a"), o("subnet-b")],
    managerSubnetIds: [o("subnet-a")],
    databaseSubnetIds: [],
    workerSecurityGroupId: cloud === "aws" ? o("sg-workers") : undefined,
    workerNetworkTag: cloud === "gcp" ? "framefleet-worker" : undefined,
    egressIps: [],
    plan: planAddressSpace("10.0.0.0/16", 2),
  };
}
const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
function args(cloud: NetworkRefs["cloud"], pool: WorkerPoolArgs["pool"]): WorkerPoolArgs {
  return {
    cloud,
    region: cloud === "aws" ? "eu-west-1" : cloud === "gcp" ? "europe-west4" : "westeurope",
    pool,
    network: refs(cloud),
    bootstrap: {
      managerEndpoint: "203.0.113.10:8443",
      caBundlePem: CA,
      registryMirror: "mirror.example/ghcr",
      upstreamRegistry: "ghcr.io",
      coordinatorImage: "ghcr.io/framefleet/coordinator:0.1.0",
      engineImage: "ghcr.io/framefleet/engine-ffmpeg:0.1.0",
      joinToken:
        cloud === "aws"
          ? { kind: "aws-secretsmanager", secretId: "arn:aws:secretsmanager:eu-west-1:1:secret:join", region: "eu-west-1" }
          : cloud === "gcp"
            ? { kind: "gcp-secretmanager", secret: "projects/p/secrets/join" }
            : { kind: "azure-keyvault", secretUri: "https://kv.vault.azure.net/secrets/join", identityClientId: "cid" },
    },
    access: {
      readBuckets: ["acme-input"],
      writeBuckets: ["acme-intermediate"],
      kmsKeyArns: cloud === "aws" ? ["arn:aws:kms:eu-west-1:1:key/k"] : [],
      registry:
        cloud === "aws"
          ? "arn:aws:ecr:eu-west-1:1:repository/ghcr/*"
          : cloud === "gcp"
            ? "projects/p/locations/europe-west4/repositories/ghcr"
            : "/subscriptions/s/acr",
      joinTokenSecret:
        cloud === "aws"
          ? "arn:aws:secretsmanager:eu-west-1:1:secret:join"
          : cloud === "gcp"
            ? "projects/p/secrets/join"
            : "/subscriptions/s/kv/secrets/join",
    },
    gcpProject: "p",
    azure: { resourceGroupName: "rg", sshPublicKey: "ssh-ed25519 AAAA test", subscriptionId: "sub" },
  };
}
const cpu = {
  name: "encode-cpu",
  kind: "encode" as const,
  instanceTypes: [{ type: "c7i.4xlarge" }, { type: "c6i.4xlarge", weight: 1 }, { type: "m7i.2xlarge" }],
  maxSize: 40,
  onDemandBase: 2,
  onDemandPercentageAboveBase: 25,
};
const gpu = {
  name: "encode-gpu",
  kind: "encode" as const,
  gpu: { type: "nvidia-l4" },
  instanceTypes: [{ type: "g2-standard-8" }],
  maxSize: 10,
  onDemandBase: 1,
  onDemandPercentageAboveBase: 0,
};

describe("pool validation and capacity arithmetic", () => {
  it("names the offending key", () => {
    expect(() => validatePoolSpec({ ...cpu, onDemandPercentageAboveBase: 101 }, "framefleet:pools[0]")).toThrow(
      /framefleet:pools\[0\]\.onDemandPercentageAboveBase.*outside 0-100/,
    );
    expect(() => validatePoolSpec({ ...cpu, onDemandPercentageAboveBase: -1 }, "k")).toThrow(/k\.onDemandPercentageAboveBase/);
    expect(() => validatePoolSpec({ ...gpu, gpu: { type: "" } }, "framefleet:pools[1]")).toThrow(/framefleet:pools\[1\]\.gpu\.type/);
    expect(() => validatePoolSpec({ ...cpu, instanceTypes: [] }, "k")).toThrow(/k\.instanceTypes/);
    expect(() => validatePoolSpec({ ...cpu, onDemandBase: 41 }, "k")).toThrow(/k\.onDemandBase/);
    expect(() => validatePoolSpec({ ...cpu, kind: "render" as never }, "k")).toThrow(/k\.kind/);
    // the runtime autoscaler counts hosts: a weighted type is refused at preview, not when the manager starts
    expect(() => validatePoolSpec({ ...cpu, instanceTypes: [{ type: "c7i.4xlarge", weight: 2 }] }, "k")).toThrow(
      /k\.instanceTypes\[0\]\.weight.*sizes pools in hosts/,
    );
  });
  it("splits capacity like an AWS mixed instances policy", () => {
    expect(splitCapacity(0, 2, 25)).toEqual({ onDemand: 0, spot: 0 });
    expect(splitCapacity(1, 2, 25)).toEqual({ onDemand: 1, spot: 0 });
    expect(splitCapacity(10, 2, 25)).toEqual({ onDemand: 4, spot: 6 });
    expect(splitCapacity(10, 0, 0)).toEqual({ onDemand: 0, spot: 10 });
    expect(splitCapacity(10, 0, 100)).toEqual({ onDemand: 10, spot: 0 });
    expect(gcpGroupBounds(validatePoolSpec(cpu, "k"))).toEqual({ standard: 12, spot: 28 });
  });
});

describe("host bootstrap", () => {
  const base: BootstrapOptions = {
    cloud: "aws",
    region: "eu-west-1",
    pool: "encode-gpu",
    taskPools: ["encode"],
    gpu: true,
    managerEndpoint: "203.0.113.10:8443",
    joinEndpoint: "203.0.113.10:8444",
    caBundlePem: CA,
    registryMirror: "1.dkr.ecr.eu-west-1.amazonaws.com/ghcr",
    upstreamRegistry: "ghcr.io",
    coordinatorImage: "ghcr.io/framefleet/coordinator:0.1.0",
    engineImage: "ghcr.io/framefleet/engine-ffmpeg-nvenc:0.1.0",
    joinToken: { kind: "aws-secretsmanager", secretId: "arn:join", region: "eu-west-1" },
  };
  it("installs the runtime, NVIDIA toolkit on GPU pools, the coordinator as a restarting service, and pulls via the mirror", () => {
    const u = renderBootstrap(base);
    expect(u.startsWith("#cloud-config\n")).toBe(true);
    expect(u).toContain("nvidia-container-toolkit");
    expect(u).toContain("nvidia-ctk runtime configure --runtime=docker");
    expect(u).toContain("Restart=always");
    expect(u).toContain("1.dkr.ecr.eu-west-1.amazonaws.com/ghcr/framefleet/coordinator:0.1.0");
    expect(u).toContain("FRAMEFLEET_ENGINE_IMAGE=1.dkr.ecr.eu-west-1.amazonaws.com/ghcr/framefleet/engine-ffmpeg-nvenc:0.1.0");
    expect(u).toContain("FRAMEFLEET_MANAGER=203.0.113.10:8443");
    expect(u).toContain("--gpus all");
    expect(u).toContain("latest/meta-data/spot/instance-action");
    expect(u).toContain("X-aws-ec2-metadata-token");
    expect(u).toContain("/run/framefleet/interruption");
    expect(u).toContain("secretsmanager get-secret-value");
    expect(u).toContain("FRAMEFLEET_POOLS=encode");
    expect(u).toContain("--env-file /run/framefleet/host.env");
    expect(Buffer.byteLength(u)).toBeLessThan(16_384); // EC2 user-data limit
    expect(renderBootstrap({ ...base, gpu: false })).not.toContain("nvidia");
  });
  it("runs the coordinator image non-root with the engine's socket and the scratch root at the host's path", () => {
    const doc = YAML.parse(renderBootstrap(base)) as { write_files: { path: string; content: string; permissions: string }[] };
    const file = (p: string) => doc.write_files.find((f) => f.path === p)!.content;
    const run = file("/usr/local/bin/framefleet-coordinator-run");
    // valid bash, as it will be executed
    const check = spawnSync("bash", ["-n"], { input: run, encoding: "utf8" });
    expect(check.status, check.stderr).toBe(0);
    expect(run).toContain("--user 10001:10001");
    expect(run).toMatch(/--group-add "\$gid"/);
    expect(run).toContain("--read-only");
    expect(run).toContain("--cap-drop ALL");
    expect(run).toContain("-v /var/run/docker.sock:/var/run/docker.sock");
    expect(run).toContain("-v /var/lib/framefleet:/var/lib/framefleet ");
    expect(run).toContain("-v /run/framefleet:/run/framefleet:ro");
    expect(run).toContain("'1.dkr.ecr.eu-west-1.amazonaws.com/ghcr/framefleet/coordinator:0.1.0'");
    const env = file("/etc/framefleet/coordinator.env");
    expect(env).toContain("FRAMEFLEET_RUNNER=container\n");
    expect(env).toContain("FRAMEFLEET_CONTAINER_CLI=docker\n");
    expect(env).toContain("FRAMEFLEET_WORK_DIR=/var/lib/framefleet/work\n");
    const unit = file("/etc/systemd/system/framefleet-coordinator.service");
    expect(unit).toContain("ExecStart=/usr/local/bin/framefleet-coordinator-run");
    expect(unit).toContain("ExecStartPre=/bin/chown -R 10001:10001 /var/lib/framefleet");
    expect(unit).toContain(
      "ExecStartPre=-/usr/bin/docker pull 1.dkr.ecr.eu-west-1.amazonaws.com/ghcr/framefleet/engine-ffmpeg-nvenc:0.1.0",
    );
    // the coordinator reads the interruption notice as uid 10001; host.env is written with umask 077 regardless
    expect(file("/etc/systemd/system/framefleet-join.service")).toContain("RuntimeDirectoryMode=0755");
    expect(file("/usr/local/bin/framefleet-join")).toContain("umask 077");
    const cpu = YAML.parse(renderBootstrap({ ...base, gpu: false })) as typeof doc;
    expect(cpu.write_files.find((f) => f.path === "/usr/local/bin/framefleet-coordinator-run")!.content).not.toContain("--gpus");
  });
  it("watches each cloud's interruption signal", () => {
    expect(renderBootstrap({ ...base, cloud: "gcp", joinToken: { kind: "gcp-secretmanager", secret: "projects/p/secrets/s" } })).toContain(
      "instance/preempted",
    );
    const az = renderBootstrap({
      ...base,
      cloud: "azure",
      joinToken: { kind: "azure-keyvault", secretUri: "https://kv/secrets/j", identityClientId: "c" },
    });
    expect(az).toContain("scheduledevents");
    expect(az).toContain('"Preempt"');
  });
  it("rewrites only upstream images", () => {
    expect(mirrorImage("ghcr.io/a/b:1", "ghcr.io", "m.example/ghcr")).toBe("m.example/ghcr/a/b:1");
    expect(mirrorImage("docker.io/a/b:1", "ghcr.io", "m.example/ghcr")).toBe("docker.io/a/b:1");
  });
});

describe("WorkerPool validation", () => {
  it("bad pool input declares no resource at all", async () => {
    const rec = await installRecorder();
    expect(
      () => new WorkerPool("bad", { ...args("aws", { ...cpu, onDemandPercentageAboveBase: 150 }), configKey: "framefleet:pools[3]" }),
    ).toThrow(/framefleet:pools\[3\]\.onDemandPercentageAboveBase/);
    expect(() => new WorkerPool("bad", args("gcp", { ...gpu, gpu: { type: "" } }))).toThrow(/gpu\.type/);
    await rec.settle();
    expect(rec.records).toEqual([]);
  });
});

describe("WorkerPool on AWS", () => {
  it("declares an ASG with the configured mixed instances policy and an IMDSv2, encrypted, private launch template", async () => {
    const rec = await installRecorder();
    const pool = new WorkerPool("cpu", args("aws", cpu));
    await rec.settle();
    const asg = rec.one("aws:autoscaling/group:Group");
    expect(asg.inputs).toMatchObject({ minSize: 0, maxSize: 40, capacityRebalance: true, vpcZoneIdentifiers: ["subnet-a", "subnet-b"] });
    expect(asg.inputs.desiredCapacity).toBeUndefined();
    expect(asg.inputs.mixedInstancesPolicy).toMatchObject({
      instancesDistribution: {
        onDemandBaseCapacity: 2,
        onDemandPercentageAboveBaseCapacity: 25,
        spotAllocationStrategy: "price-capacity-optimized",
      },
      launchTemplate: {
        overrides: [
          { instanceType: "c7i.4xlarge", weightedCapacity: "1" },
          { instanceType: "c6i.4xlarge", weightedCapacity: "1" },
          { instanceType: "m7i.2xlarge", weightedCapacity: "1" },
        ],
      },
    });
    const lt = rec.one("aws:ec2/launchTemplate:LaunchTemplate");
    expect(lt.inputs.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
    // hostnames start with the instance id, which is how the autoscaler finds each instance's coordinator
    expect(lt.inputs.privateDnsNameOptions).toEqual({ hostnameType: "resource-name", enableResourceNameDnsARecord: true });
    expect(lt.inputs.blockDeviceMappings).toEqual([expect.objectContaining({ ebs: expect.objectContaining({ encrypted: "true" }) })]);
    expect(lt.inputs.networkInterfaces).toEqual([
      expect.objectContaining({ associatePublicIpAddress: "false", securityGroups: ["sg-workers"] }),
    ]);
    const userData = Buffer.from(String(lt.inputs.userData), "base64").toString();
    expect(userData).toContain("#cloud-config");
    expect(userData).not.toMatch(/BEGIN (RSA |EC )?PRIVATE KEY/);
    const policy = JSON.parse(String(rec.one("aws:iam/rolePolicy:RolePolicy").inputs.policy));
    const resources = policy.Statement.flatMap((s: { Resource: string | string[] }) => [s.Resource].flat());
    expect(resources).toEqual(
      expect.arrayContaining([
        "arn:aws:s3:::acme-input",
        "arn:aws:s3:::acme-intermediate/*",
        "arn:aws:ecr:eu-west-1:1:repository/ghcr/*",
        "arn:aws:secretsmanager:eu-west-1:1:secret:join",
      ]),
    );
    // nothing broader than the named buckets, mirror and secret, apart from ECR's account-wide auth call
    expect(resources.filter((r: string) => r === "*")).toHaveLength(1);
    expect(policy.Statement.find((s: { Resource: string }) => s.Resource === "*").Action).toEqual(["ecr:GetAuthorizationToken"]);
    const d = await valueOf(pool.distribution);
    expect(d).toMatchObject({ pool: "encode-cpu", onDemandBase: 2, onDemandPercentageAboveBase: 25, groups: { asg: expect.any(String) } });
  });
});

describe("WorkerPool on GCP", () => {
  it("declares STANDARD and SPOT templates and two regional MIGs at size 0", async () => {
    const rec = await installRecorder();
    new WorkerPool("gpu", args("gcp", gpu));
    await rec.settle();
    const templates = rec.ofType("gcp:compute/instanceTemplate:InstanceTemplate");
    expect(templates).toHaveLength(2);
    const spot = templates.find((t) => t.name.endsWith("-spot"))!;
    const std = templates.find((t) => t.name.endsWith("-standard"))!;
    expect(spot.inputs.scheduling).toMatchObject({
      provisioningModel: "SPOT",
      preemptible: true,
      automaticRestart: false,
      onHostMaintenance: "TERMINATE",
    });
    expect(std.inputs.scheduling).toMatchObject({ provisioningModel: "STANDARD", onHostMaintenance: "TERMINATE" });
    for (const t of templates) {
      expect(t.inputs.guestAccelerators).toEqual([{ type: "nvidia-l4", count: 1 }]);
      expect(t.inputs.shieldedInstanceConfig).toEqual({ enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true });
      const nics = t.inputs.networkInterfaces as Array<Record<string, unknown>>;
      expect(nics).toHaveLength(1);
      expect(nics[0]!.accessConfigs ?? []).toEqual([]);
      expect(t.inputs.tags).toEqual(["framefleet-worker"]);
      expect((t.inputs.metadata as Record<string, string>)["user-data"]).toContain("nvidia-container-toolkit");
    }
    const migs = rec.ofType("gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager");
    expect(migs).toHaveLength(2);
    for (const m of migs) expect(m.inputs.targetSize).toBe(0);
    expect(migs.find((m) => m.name.endsWith("-spot"))!.inputs.description).toContain("max 9 of 10");
    expect(rec.ofType("gcp:storage/bucketIAMMember:BucketIAMMember").map((b) => [b.inputs.bucket, b.inputs.role])).toEqual([
      ["acme-input", "roles/storage.objectViewer"],
      ["acme-intermediate", "roles/storage.objectUser"],
    ]);
    expect(rec.one("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember").inputs).toMatchObject({
      repository: "ghcr",
      role: "roles/artifactregistry.reader",
    });
  });
  it("spreads spot hosts over several machine types", async () => {
    const rec = await installRecorder();
    new WorkerPool("cpu", args("gcp", { ...cpu, instanceTypes: [{ type: "c3-standard-8" }, { type: "n2-standard-8" }] }));
    await rec.settle();
    const spot = rec.ofType("gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager").find((m) => m.name.endsWith("-spot"))!;
    expect(spot.inputs.instanceFlexibilityPolicy).toEqual({
      instanceSelections: [
        { name: "choice-0", rank: 1, machineTypes: ["c3-standard-8"] },
        { name: "choice-1", rank: 2, machineTypes: ["n2-standard-8"] },
      ],
    });
  });
});

describe("WorkerPool on Azure", () => {
  it("declares a Flexible VMSS with a priority mix, Spot eviction, encryption at host and SSH keys only", async () => {
    const rec = await installRecorder();
    new WorkerPool("cpu", args("azure", { ...cpu, instanceTypes: [{ type: "Standard_F16s_v2" }, { type: "Standard_D16s_v5" }] }));
    await rec.settle();
    const v = rec.one("azure-native:compute:VirtualMachineScaleSet").inputs as Record<string, any>;
    expect(v.orchestrationMode).toBe("Flexible");
    expect(v.priorityMixPolicy).toEqual({ baseRegularPriorityCount: 2, regularPriorityPercentageAboveBase: 25 });
    expect(v.sku).toEqual({ name: "Mix", capacity: 0 });
    expect(v.skuProfile.vmSizes.map((s: { name: string }) => s.name)).toEqual(["Standard_F16s_v2", "Standard_D16s_v5"]);
    expect(v.virtualMachineProfile).toMatchObject({
      priority: "Spot",
      evictionPolicy: "Delete",
      securityProfile: { encryptionAtHost: true },
    });
    expect(v.virtualMachineProfile.osProfile.linuxConfiguration).toMatchObject({ disablePasswordAuthentication: true });
    expect(v.virtualMachineProfile.osProfile.adminPassword).toBeUndefined();
    const nic = v.virtualMachineProfile.networkProfile.networkInterfaceConfigurations[0];
    expect(nic.ipConfigurations[0].publicIPAddressConfiguration).toBeUndefined();
    const roles = rec.ofType("azure-native:authorization:RoleAssignment");
    expect(roles.map((r) => r.inputs.scope)).toEqual([
      "acme-input",
      "acme-intermediate",
      "/subscriptions/s/acr",
      "/subscriptions/s/kv/secrets/join",
    ]);
  });
});

describe("poolHostGroups: the groups as the manager's autoscaler drives them", () => {
  const spec = (base: number, pct: number, maxSize = 4) =>
    validatePoolSpec(
      {
        name: "enc",
        kind: "encode",
        instanceTypes: [{ type: "c7i.2xlarge" }],
        maxSize,
        onDemandBase: base,
        onDemandPercentageAboveBase: pct,
      },
      "p",
    );
  it("AWS and Azure: one group whose capacity type is what the cloud's base and share give", () => {
    expect(poolHostGroups("aws", spec(0, 0), { asg: "a" })).toEqual([
      { name: "a", capacityType: "spot", instanceTypes: [{ type: "c7i.2xlarge", weight: 1 }], maxSize: 4 },
    ]);
    expect(poolHostGroups("aws", spec(0, 100), { asg: "a" })[0]!.capacityType).toBe("on-demand");
    expect(poolHostGroups("azure", spec(4, 0), { vmss: "v" })[0]!.capacityType).toBe("on-demand");
    expect(poolHostGroups("azure", spec(1, 0), { vmss: "v" })[0]!.capacityType).toBe("mixed");
    expect(poolHostGroups("aws", spec(0, 30), { asg: "a" })[0]!.capacityType).toBe("mixed");
  });
  it("passes a configured shape through to the manager, checked with the key named", () => {
    const shape = { cpuMillis: 4000, memoryMb: 16_384, gpus: 0, onDemandPerHour: 0.2016, spotPerHour: 0.08 };
    const p = validatePoolSpec(
      { name: "pkg", kind: "package", instanceTypes: [{ type: "m7i.xlarge", shape }], maxSize: 2 },
      "framefleet:pools[2]",
    );
    expect(poolHostGroups("aws", p, { asg: "a" })[0]!.instanceTypes).toEqual([{ type: "m7i.xlarge", weight: 1, shape }]);
    expect(() =>
      validatePoolSpec(
        { name: "pkg", kind: "package", instanceTypes: [{ type: "m7i.xlarge", shape: { ...shape, spotPerHour: -1 } }], maxSize: 2 },
        "framefleet:pools[2]",
      ),
    ).toThrow(/framefleet:pools\[2\]\.instanceTypes\[0\]\.shape\.spotPerHour.*must be a positive number, got -1/);
  });
  it("GCP: a STANDARD and a SPOT group bounded by the split; a group that can hold no host is left out", () => {
    expect(poolHostGroups("gcp", spec(1, 50, 5), { standard: "d", spot: "s" }).map((g) => [g.name, g.capacityType, g.maxSize])).toEqual([
      ["d", "on-demand", 3],
      ["s", "spot", 2],
    ]);
    // all on-demand: a spot group of size 0 would make the policy hold short tasks for it
    expect(poolHostGroups("gcp", spec(0, 100), { standard: "d", spot: "s" }).map((g) => g.name)).toEqual(["d"]);
  });
});
