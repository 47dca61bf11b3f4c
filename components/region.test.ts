// Region composition under Pulumi mocks (pulumi.runtime.setMocks): how the
// parts are wired — static IP into the manager's certificate and Service, the
// mirror and manager endpoint into the hosts' bootstrap, least-privilege bucket
// access per pool kind, and no cluster at all for a remotely managed region.
import { describe, expect, it } from "vitest";
import { installRecorder, valueOf } from "../stacks/synth/recorder.js";
import { parseSecretToken } from "../runtime/pki/index.js";
import { Region, bootstrapJoinToken, type RegionSpec } from "./region.js";

const base: RegionSpec = {
  installation: "acme",
  cloud: "aws",
  region: "eu-west-1",
  network: { cidr: "10.40.0.0/16", zones: ["eu-west-1a", "eu-west-1b"] },
  manager: {
    mode: "local",
    image: "ghcr.io/framefleet/manager:0.1.0",
    apiAllowedCidrs: ["198.51.100.0/24"],
    dnsName: "manager.acme.example",
  },
  pools: [
    { name: "probe", kind: "probe", instanceTypes: [{ type: "c7i.large" }], maxSize: 4 },
    {
      name: "package",
      kind: "package",
      instanceTypes: [{ type: "m7i.large" }],
      maxSize: 4,
      onDemandBase: 1,
      onDemandPercentageAboveBase: 100,
    },
  ],
  images: {
    coordinator: "quay.io/framefleet/coordinator:0.1.0",
    engineCpu: "quay.io/framefleet/engine-ffmpeg:0.1.0",
    engineGpu: "quay.io/framefleet/engine-ffmpeg-nvenc:0.1.0",
  },
  registry: { host: "quay.io", namespaces: ["framefleet"] },
  buckets: { create: true, namePrefix: "acme-euw1" },
};

describe("Region", () => {
  it("local manager: the static IPs go into the server certificate and the Service; pools get least-privilege access", async () => {
    const rec = await installRecorder();
    const r = new Region("acme", { spec: base });
    const [endpoint, pools] = await Promise.all([valueOf(r.managerEndpoint), valueOf(r.pools)]);
    await rec.settle();
    expect(endpoint).toBe("manager.acme.example:8443");
    const server = rec.ofType("pulumi-nodejs:dynamic/framefleet-pki:Certificate").find((c) => c.inputs.kind === "server")!;
    const eips = rec.ofType("aws:ec2/eip:Eip").filter((e) => e.name.includes("manager"));
    expect(eips).toHaveLength(2);
    expect((server.inputs.ipAddresses as string[]).length).toBe(2);
    expect(server.inputs.dnsNames).toEqual(["manager.acme.example"]);
    expect(rec.ofType("framefleet:pki:CertificateAuthority")).toHaveLength(1);

    const policy = (pool: string) =>
      JSON.parse(String(rec.one("aws:iam/rolePolicy:RolePolicy", `${pool}-host`).inputs.policy)) as {
        Statement: Array<{ Sid: string; Resource: string | string[] }>;
      };
    const write = (pool: string) => policy(pool).Statement.find((s) => s.Sid === "WriteObjects");
    expect(write("acme-probe")).toBeUndefined();
    expect(write("acme-package")!.Resource).toEqual(["arn:aws:s3:::acme-euw1-output/*"]);
    expect(policy("acme-probe").Statement.find((s) => s.Sid === "ReadObjects")!.Resource).toEqual(["arn:aws:s3:::acme-euw1-input/*"]);

    const ud = Buffer.from(String(rec.one("aws:ec2/launchTemplate:LaunchTemplate", "probe-lt").inputs.userData), "base64").toString();
    expect(ud).toContain("FRAMEFLEET_MANAGER=manager.acme.example:8443");
    expect(ud).toContain("FRAMEFLEET_JOIN=manager.acme.example:8444");
    expect(ud).toContain("123456789012.dkr.ecr.eu-west-1.amazonaws.com/quay/framefleet/coordinator:0.1.0");

    const cfg = JSON.parse((rec.one("kubernetes:core/v1:ConfigMap").inputs.data as Record<string, string>)["manager.json"]!);
    expect(cfg.pools.map((p: { pool: string }) => p.pool)).toEqual(["probe", "package"]);
    expect(pools[1]).toMatchObject({ onDemandBase: 1, onDemandPercentageAboveBase: 100 });
    // what the manager's autoscaler needs: how to reach the groups, and each group's types and capacity type
    expect(cfg.fleet).toEqual({ provider: "aws", region: "eu-west-1" });
    expect(cfg.pools.map((p: { hostGroups: unknown }) => p.hostGroups)).toEqual([
      [{ name: pools[0]!.groups.asg, capacityType: "spot", instanceTypes: [{ type: "c7i.large", weight: 1 }], maxSize: 4 }],
      [{ name: pools[1]!.groups.asg, capacityType: "on-demand", instanceTypes: [{ type: "m7i.large", weight: 1 }], maxSize: 4 }],
    ]);
    expect(pools[0]!.groups.asg).toContain("acme-probe-asg");
    // the manager's own identity may scale exactly the pools' groups (and use the region's buckets)
    expect(rec.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs).toMatchObject({
      namespace: "framefleet",
      serviceAccount: "framefleet-manager",
    });
    const mgr = JSON.parse(String(rec.one("aws:iam/rolePolicy:RolePolicy", "acme-manager").inputs.policy)) as {
      Statement: Array<{ Sid: string; Resource: string[] }>;
    };
    expect(mgr.Statement.find((x) => x.Sid === "ScalePools")!.Resource).toEqual([
      expect.stringContaining("acme-probe-asg"),
      expect.stringContaining("acme-package-asg"),
    ]);
    // the generated join token reaches the manager and the secret store, as secrets
    expect(rec.one("aws:secretsmanager/secretVersion:SecretVersion").secretPaths).toEqual(["secretString"]);
    // ... in the form the manager's join port parses, the same value in both places
    const stored = String(rec.one("aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString);
    expect(parseSecretToken(stored, "ffjt")).toBeDefined();
    const managerEnv = rec
      .ofType("kubernetes:core/v1:Secret")
      .map((x) => x.inputs.stringData as Record<string, string> | undefined)
      .find((d) => d?.JOIN_TOKEN);
    expect(managerEnv!.JOIN_TOKEN).toBe(stored);
  });

  it("derives the bootstrap join token deterministically from the generated secret, whatever its encoding", () => {
    const a = bootstrapJoinToken("mock-generated-secret");
    expect(a).toMatch(/^ffjt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(parseSecretToken(a, "ffjt")).toEqual({ lookupId: a.slice(5, 17) });
    expect(bootstrapJoinToken("mock-generated-secret")).toBe(a);
    expect(bootstrapJoinToken("another-generated-secret")).not.toBe(a);
  });

  it("manager.json on Azure names the subscription and resource group; on GCP the project and region (regional MIGs)", async () => {
    const rec = await installRecorder();
    new Region("az", {
      spec: {
        ...base,
        cloud: "azure",
        region: "westeurope",
        network: { cidr: "10.50.0.0/16" },
        azure: { resourceGroupName: "rg-acme-weu", sshPublicKey: "ssh-ed25519 AAAA test" },
        pools: [{ ...base.pools[1]!, onDemandBase: 1, onDemandPercentageAboveBase: 25, instanceTypes: [{ type: "Standard_F16s_v2" }] }],
      },
    });
    await rec.settle();
    const az = JSON.parse((rec.one("kubernetes:core/v1:ConfigMap").inputs.data as Record<string, string>)["manager.json"]!);
    expect(az.fleet).toEqual({ provider: "azure", subscriptionId: "00000000-0000-0000-0000-000000000000", resourceGroup: "rg-acme-weu" });
    // a base plus 25% regular priority: the VMSS decides each host's priority
    expect(az.pools[0].hostGroups).toEqual([
      { name: expect.any(String), capacityType: "mixed", instanceTypes: [{ type: "Standard_F16s_v2", weight: 1 }], maxSize: 4 },
    ]);

    const rec2 = await installRecorder();
    new Region("gc", {
      spec: {
        ...base,
        cloud: "gcp",
        region: "us-central1",
        network: { cidr: "10.60.0.0/16" },
        gcp: { project: "p" },
        pools: [
          { ...base.pools[0]!, maxSize: 5, onDemandBase: 1, onDemandPercentageAboveBase: 50, instanceTypes: [{ type: "c3-standard-8" }] },
        ],
      },
    });
    await rec2.settle();
    const gc = JSON.parse((rec2.one("kubernetes:core/v1:ConfigMap").inputs.data as Record<string, string>)["manager.json"]!);
    expect(gc.fleet).toEqual({ provider: "gcp", project: "p", region: "us-central1" });
    // STANDARD takes the base and half the rest rounded up (1 + 2), SPOT the remaining 2
    expect(gc.pools[0].hostGroups.map((g: { capacityType: string; maxSize: number }) => [g.capacityType, g.maxSize])).toEqual([
      ["on-demand", 3],
      ["spot", 2],
    ]);
  });

  it("remote manager: no cluster, no database, no Kubernetes objects; hosts dial the configured endpoint", async () => {
    const rec = await installRecorder();
    new Region("mc", {
      spec: {
        ...base,
        cloud: "gcp",
        region: "us-central1",
        network: { cidr: "10.70.0.0/16" },
        gcp: { project: "p" },
        manager: {
          mode: "remote",
          endpoint: "manager.acme.example:8443",
          caBundlePem: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----",
        },
        buckets: { existing: { input: "i", intermediate: "m", output: "o" } },
      },
      joinToken: "token",
    });
    await rec.settle();
    expect(
      rec.records.filter((r) => /container\/cluster|sql\/|^kubernetes:|pulumi:providers:kubernetes|framefleet-pki/.test(r.type)),
    ).toEqual([]);
    const t = rec.ofType("gcp:compute/instanceTemplate:InstanceTemplate")[0]!;
    expect((t.inputs.metadata as Record<string, string>)["user-data"]).toContain("FRAMEFLEET_MANAGER=manager.acme.example:8443");
    expect(
      rec
        .ofType("gcp:storage/bucketIAMMember:BucketIAMMember")
        .map((b) => `${b.name}:${b.inputs.bucket}:${b.inputs.role}`)
        .sort(),
    ).toEqual([
      "mc-package-read-0:m:roles/storage.objectViewer",
      "mc-package-write-0:o:roles/storage.objectUser",
      "mc-probe-read-0:i:roles/storage.objectViewer",
    ]);
  });
});
