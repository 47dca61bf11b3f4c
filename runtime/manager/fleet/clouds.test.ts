// Each cloud provider against a fake endpoint that speaks its real wire API
// (see fakes.ts): the real SDKs build, sign and parse every request.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsFleetProvider } from "./aws.js";
import { GcpFleetProvider, staticTokenAuth } from "./gcp.js";
import { AzureFleetProvider } from "./azure.js";
import { FakeAwsAutoScaling, FakeAzureArm, FakeGcpCompute } from "./fakes.js";
import { FleetProviderError } from "./provider.js";

describe("AWS Auto Scaling provider (fake query-protocol endpoint)", () => {
  let fake: FakeAwsAutoScaling;
  let aws: AwsFleetProvider;
  beforeAll(async () => {
    fake = await FakeAwsAutoScaling.start();
    aws = new AwsFleetProvider({
      region: "us-east-1",
      endpoint: fake.url,
      credentials: { accessKeyId: "AKIDFAKE", secretAccessKey: "secret" },
      maxAttempts: 4,
    });
  });
  afterAll(async () => {
    await aws?.close();
    await fake?.close();
  });

  it("describes a group, sets its desired capacity and terminates a chosen instance with the desired size lowered", async () => {
    fake.groups.set("ff-encode-spot", { desired: 1, min: 0, max: 10, instances: [{ id: "i-0abc", state: "InService" }] });
    const before = await aws.describe("ff-encode-spot");
    expect(before).toMatchObject({ desired: 1, min: 0, max: 10, instances: [{ id: "i-0abc", state: "running" }] });

    await aws.setDesiredCapacity("ff-encode-spot", 3);
    const set = fake.calls.find((c) => c.op === "SetDesiredCapacity")!;
    expect(set.params).toMatchObject({
      AutoScalingGroupName: "ff-encode-spot",
      DesiredCapacity: "3",
      HonorCooldown: "false",
      Version: "2011-01-01",
    });
    expect(set.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFAKE\/\d{8}\/us-east-1\/autoscaling\/aws4_request/);
    const after = await aws.describe("ff-encode-spot");
    expect(after.desired).toBe(3);
    expect(after.instances.filter((i) => i.state === "pending")).toHaveLength(2);

    await aws.terminateInstance("ff-encode-spot", "i-0abc");
    expect(fake.calls.find((c) => c.op === "TerminateInstanceInAutoScalingGroup")!.params).toMatchObject({
      InstanceId: "i-0abc",
      ShouldDecrementDesiredCapacity: "true",
    });
    expect(fake.groups.get("ff-encode-spot")!.desired).toBe(2);
  });

  it("retries throttling until the call goes through", async () => {
    fake.groups.set("ff-t", { desired: 0, min: 0, max: 5, instances: [] });
    const n = fake.count("SetDesiredCapacity");
    fake.failNext("SetDesiredCapacity", "throttle", 2);
    await aws.setDesiredCapacity("ff-t", 2);
    expect(fake.count("SetDesiredCapacity") - n).toBe(3);
    expect(fake.groups.get("ff-t")!.desired).toBe(2);
  });

  it("reports a permission failure clearly, at once, without retrying", async () => {
    const n = fake.count("SetDesiredCapacity");
    fake.failNext("SetDesiredCapacity", "deny");
    const err = await aws.setDesiredCapacity("ff-t", 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetProviderError);
    expect(err).toMatchObject({ kind: "permission", code: "AccessDenied", status: 403, operation: "SetDesiredCapacity" });
    expect((err as Error).message).toMatch(/autoscaling:SetDesiredCapacity.*grant it/);
    expect(fake.count("SetDesiredCapacity") - n).toBe(1);
    expect(fake.groups.get("ff-t")!.desired).toBe(2);
  });

  it("gives up on throttling after its attempts, and says a missing group is missing", async () => {
    fake.failNext("SetDesiredCapacity", "throttle", 10);
    await expect(aws.setDesiredCapacity("ff-t", 1)).rejects.toMatchObject({ kind: "throttled", code: "Throttling" });
    await expect(aws.describe("nope")).rejects.toMatchObject({ kind: "not-found" });
  });
});

describe("GCP managed instance group provider (fake Compute REST endpoint)", () => {
  let fake: FakeGcpCompute;
  let gcp: GcpFleetProvider;
  beforeAll(async () => {
    fake = await FakeGcpCompute.start();
    gcp = new GcpFleetProvider({
      project: "acme-media",
      zone: "us-central1-a",
      apiEndpoint: fake.url.replace("http://", ""),
      protocol: "http",
      auth: staticTokenAuth("ya29.fake"),
      retryBaseMs: 20,
    });
  });
  afterAll(async () => {
    await gcp?.close();
    await fake?.close();
  });

  it("resizes a MIG, lists its instances and deletes a chosen one", async () => {
    fake.groups.set("ff-encode-spot", { desired: 1, min: 0, max: 100, instances: [{ id: "ff-encode-spot-abcd", state: "NONE" }] });
    await gcp.setDesiredCapacity("ff-encode-spot", 3);
    const resize = fake.calls.find((c) => c.op === "instanceGroupManagers.resize")!;
    expect(resize).toMatchObject({
      method: "POST",
      path: "/compute/v1/projects/acme-media/zones/us-central1-a/instanceGroupManagers/ff-encode-spot/resize",
      params: { size: "3" },
    });
    expect(resize.authorization).toBe("Bearer ya29.fake");
    const d = await gcp.describe("ff-encode-spot");
    expect(d.desired).toBe(3);
    expect(d.instances).toHaveLength(3);
    expect(d.instances.find((i) => i.id === "ff-encode-spot-abcd")!.state).toBe("running");
    expect(d.instances.filter((i) => i.state === "pending")).toHaveLength(2);

    await gcp.terminateInstance("ff-encode-spot", "ff-encode-spot-abcd");
    expect(fake.calls.find((c) => c.op === "instanceGroupManagers.deleteInstances")!.body).toEqual({
      instances: ["zones/us-central1-a/instances/ff-encode-spot-abcd"],
      skipInstancesOnValidationError: true,
    });
    expect(fake.groups.get("ff-encode-spot")!.desired).toBe(2);
  });

  it("drives a regional MIG (as the worker pool component makes them): regional calls, each instance deleted in its own zone", async () => {
    const regional = new GcpFleetProvider({
      project: "acme-media",
      region: "us-central1",
      apiEndpoint: fake.url.replace("http://", ""),
      protocol: "http",
      auth: staticTokenAuth("ya29.fake"),
      retryBaseMs: 20,
    });
    try {
      fake.groups.set("ff-pkg-spot", { desired: 0, min: 0, max: 100, instances: [] });
      await regional.setDesiredCapacity("ff-pkg-spot", 4);
      expect(fake.calls.filter((c) => c.op === "regionInstanceGroupManagers.resize").at(-1)).toMatchObject({
        method: "POST",
        path: "/compute/v1/projects/acme-media/regions/us-central1/instanceGroupManagers/ff-pkg-spot/resize",
        params: { size: "4" },
      });
      const d = await regional.describe("ff-pkg-spot");
      expect(d.desired).toBe(4);
      const victim = d.instances[0]!.id;
      const listed = fake.calls.filter((c) => c.op === "regionInstanceGroupManagers.listManagedInstances");
      expect(listed.length).toBeGreaterThan(0);
      await regional.terminateInstance("ff-pkg-spot", victim);
      // the fake skips an instance named in the wrong zone (skipInstancesOnValidationError), so the group shrinking proves the zone
      const del = fake.calls.filter((c) => c.op === "regionInstanceGroupManagers.deleteInstances").at(-1)!;
      expect(del.path).toBe("/compute/v1/projects/acme-media/regions/us-central1/instanceGroupManagers/ff-pkg-spot/deleteInstances");
      expect((del.body as { instances: string[] }).instances[0]).toMatch(new RegExp(`^zones/us-central1-[abc]/instances/${victim}$`));
      expect(fake.groups.get("ff-pkg-spot")!.desired).toBe(3);
      expect(fake.groups.get("ff-pkg-spot")!.instances.map((i) => i.id)).not.toContain(victim);

      // a provider that has not listed the group yet looks the instance's zone up first
      const fresh = new GcpFleetProvider({
        project: "acme-media",
        region: "us-central1",
        apiEndpoint: fake.url.replace("http://", ""),
        protocol: "http",
        auth: staticTokenAuth("ya29.fake"),
      });
      const next = fake.groups.get("ff-pkg-spot")!.instances[0]!.id;
      await fresh.terminateInstance("ff-pkg-spot", next);
      expect(fake.groups.get("ff-pkg-spot")!.desired).toBe(2);
      await expect(fresh.terminateInstance("ff-pkg-spot", "no-such-instance")).rejects.toMatchObject({ kind: "not-found" });
      await fresh.close();
    } finally {
      await regional.close();
    }
    expect(() => new GcpFleetProvider({ project: "p" })).toThrow(/exactly one of region/);
    expect(() => new GcpFleetProvider({ project: "p", region: "r", zone: "z" })).toThrow(/exactly one of region/);
  });

  it("retries HTTP 429 RESOURCE_EXHAUSTED", async () => {
    fake.groups.set("ff-t", { desired: 0, min: 0, max: 10, instances: [] });
    const n = fake.count("instanceGroupManagers.resize");
    fake.failNext("instanceGroupManagers.resize", "throttle", 2);
    await gcp.setDesiredCapacity("ff-t", 2);
    expect(fake.count("instanceGroupManagers.resize") - n).toBe(3);
    expect(fake.groups.get("ff-t")!.desired).toBe(2);
  });

  it("reports HTTP 403 PERMISSION_DENIED clearly without retrying", async () => {
    const n = fake.count("instanceGroupManagers.resize");
    fake.failNext("instanceGroupManagers.resize", "deny");
    const err = await gcp.setDesiredCapacity("ff-t", 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetProviderError);
    expect(err).toMatchObject({ kind: "permission", status: 403 });
    expect((err as Error).message).toMatch(/compute\.instanceGroupManagers\.update/);
    expect(fake.count("instanceGroupManagers.resize") - n).toBe(1);
  });
});

describe("Azure VMSS provider (fake ARM endpoint over TLS)", () => {
  let fake: FakeAzureArm;
  let azure: AzureFleetProvider;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ff-azure-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        path.join(dir, "k.pem"),
        "-out",
        path.join(dir, "c.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const tls = { key: fs.readFileSync(path.join(dir, "k.pem"), "utf8"), cert: fs.readFileSync(path.join(dir, "c.pem"), "utf8") };
    fake = await FakeAzureArm.start(tls);
    const credential = { getToken: async () => ({ token: "eyFAKE", expiresOnTimestamp: Date.now() + 3_600_000 }) };
    azure = new AzureFleetProvider({
      subscriptionId: "00000000-0000-0000-0000-000000000001",
      resourceGroup: "ff-rg",
      credential,
      endpoint: fake.url,
      ca: tls.cert,
      pollIntervalMs: 10,
    });
  });
  afterAll(async () => {
    await fake?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("scales a VMSS through sku.capacity (a long-running operation), lists its VMs and deletes a chosen instance", async () => {
    fake.groups.set("ff-encode-spot", { desired: 1, min: 0, max: 100, instances: [{ id: "0", state: "Succeeded" }] });
    await azure.setDesiredCapacity("ff-encode-spot", 3);
    const patch = fake.calls.find((c) => c.op === "virtualMachineScaleSets.update")!;
    expect(patch).toMatchObject({
      method: "PATCH",
      path: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ff-rg/providers/Microsoft.Compute/virtualMachineScaleSets/ff-encode-spot",
    });
    expect(patch.body).toEqual({ sku: { capacity: 3 } });
    expect(patch.params["api-version"]).toMatch(/^\d{4}-\d{2}-\d{2}/);
    expect(patch.authorization).toBe("Bearer eyFAKE");
    expect(fake.count("operations.get")).toBeGreaterThanOrEqual(2); // polled until Succeeded

    const d = await azure.describe("ff-encode-spot");
    expect(d.desired).toBe(3);
    expect(d.instances.map((i) => i.state).sort()).toEqual(["pending", "pending", "running"]);
    expect(d.instances.find((i) => i.id === "0")!.hostname).toBe("ffpool000000"); // the computer name its coordinator reports

    const polls = fake.count("operations.get");
    await azure.terminateInstance("ff-encode-spot", "0");
    expect(fake.calls.find((c) => c.op === "virtualMachineScaleSets.deleteInstances")).toMatchObject({
      method: "POST",
      body: { instanceIds: ["0"] },
    });
    expect(fake.count("operations.get")).toBeGreaterThan(polls);
    expect(fake.groups.get("ff-encode-spot")!.desired).toBe(2);
  });

  it("retries 429 TooManyRequests", async () => {
    fake.groups.set("ff-t", { desired: 0, min: 0, max: 10, instances: [] });
    const n = fake.count("virtualMachineScaleSets.update");
    fake.failNext("virtualMachineScaleSets.update", "throttle", 2);
    await azure.setDesiredCapacity("ff-t", 2);
    expect(fake.count("virtualMachineScaleSets.update") - n).toBe(3);
    expect(fake.groups.get("ff-t")!.desired).toBe(2);
  });

  it("reports 403 AuthorizationFailed clearly without retrying", async () => {
    const n = fake.count("virtualMachineScaleSets.update");
    fake.failNext("virtualMachineScaleSets.update", "deny");
    const err = await azure.setDesiredCapacity("ff-t", 5).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "permission", code: "AuthorizationFailed", status: 403 });
    expect((err as Error).message).toMatch(/virtualMachineScaleSets\/write/);
    expect(fake.count("virtualMachineScaleSets.update") - n).toBe(1);
  });
});
