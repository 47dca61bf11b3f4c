// The fleet provider built from the region's `fleet` settings: the kind each
// setting names, a real call through the built AWS client against the fake
// endpoint, and an error that names the field for each bad setting.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FakeAwsAutoScaling } from "./fakes.js";
import { createFleetProvider, FleetConfigError, fleetProviderFromConfig, parseFleetSettings } from "./select.js";
import type { FleetProvider } from "./provider.js";

describe("fleet provider from the region's configuration", () => {
  let fake: FakeAwsAutoScaling;
  beforeAll(async () => {
    fake = await FakeAwsAutoScaling.start();
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await fake?.close();
  });

  it("builds an AWS provider whose calls reach the configured endpoint and region", async () => {
    // the default credential chain, as on the manager's pod identity, here from the environment
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDSELECT");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
    fake.groups.set("ff-encode-spot", { desired: 2, min: 0, max: 10, instances: [] });
    const p = fleetProviderFromConfig({ provider: "aws", region: "eu-west-1", endpoint: fake.url, maxAttempts: 2 });
    expect(p.kind).toBe("aws");
    expect(await p.describe("ff-encode-spot")).toMatchObject({ desired: 2, max: 10 });
    expect(fake.calls.at(-1)!.authorization).toMatch(/Credential=AKIDSELECT\/\d{8}\/eu-west-1\/autoscaling\//);
    await p.close?.();
  });

  it("builds GCP, Azure and simulated providers from their settings", async () => {
    expect(fleetProviderFromConfig({ provider: "gcp", project: "acme-media", zone: "europe-west1-b" }).kind).toBe("gcp");
    expect(fleetProviderFromConfig({ provider: "gcp", project: "acme-media", region: "europe-west1" }).kind).toBe("gcp");
    expect(fleetProviderFromConfig({ provider: "azure", subscriptionId: "sub-1", resourceGroup: "acme-weu" }).kind).toBe("azure");
    let now = 0;
    const sim = fleetProviderFromConfig(
      { provider: "simulated", bootMs: 1000 },
      { groups: [{ name: "cpu-spot", maxSize: 3, pricePerHour: 0.1 }], now: () => now },
    );
    await sim.setDesiredCapacity("cpu-spot", 2);
    expect((await sim.describe("cpu-spot")).instances.map((i) => i.state)).toEqual(["pending", "pending"]);
    now = 1000;
    expect((await sim.describe("cpu-spot")).instances.map((i) => i.state)).toEqual(["running", "running"]);
    // the group's maximum came from the autoscaler's groups
    await expect(sim.setDesiredCapacity("cpu-spot", 4)).rejects.toThrow(/outside 0\.\.3/);
  });

  it("hands back the manager's local fleet for provider local, and says what local is when there is none", () => {
    const local = { kind: "local" } as unknown as FleetProvider;
    expect(createFleetProvider(parseFleetSettings({ provider: "local" }), { local })).toBe(local);
    expect(() => fleetProviderFromConfig({ provider: "local" })).toThrow(/"fleet.provider": "local" is the embedded region's/);
  });

  it.each([
    [undefined, "fleet", /missing/],
    ["aws", "fleet", /must be an object/],
    [{}, "fleet.provider", /missing: one of aws, gcp, azure, local, simulated/],
    [{ provider: "ec2" }, "fleet.provider", /"ec2" is not one of aws, gcp, azure, local, simulated/],
    [{ provider: "aws" }, "fleet.region", /missing: the aws provider needs it/],
    [{ provider: "aws", region: 5 }, "fleet.region", /must be a string, got 5/],
    [{ provider: "aws", region: "eu-west-1", maxAttempts: 0 }, "fleet.maxAttempts", /must be a number ≥ 1/],
    [{ provider: "aws", region: "eu-west-1", zone: "a" }, "fleet.zone", /not a setting of the aws provider/],
    [{ provider: "gcp", project: "p" }, "fleet.region", /missing: the gcp provider needs the MIGs' region/],
    [{ provider: "gcp", project: "p", region: "r", zone: "z" }, "fleet.zone", /region \(regional MIGs\) or zone \(zonal MIGs\), not both/],
    [{ provider: "azure", subscriptionId: "s", resourceGroup: "" }, "fleet.resourceGroup", /missing/],
    [{ provider: "simulated", bootMs: -1 }, "fleet.bootMs", /must be a number ≥ 0/],
  ])("refuses %j with an error naming %s", (raw, field, message) => {
    let err: unknown;
    try {
      parseFleetSettings(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FleetConfigError);
    expect((err as FleetConfigError).field).toBe(field);
    expect((err as Error).message).toContain(`invalid configuration "${field}"`);
    expect((err as Error).message).toMatch(message);
  });

  it("names the field under where the settings sit in the configuration", () => {
    expect(() => parseFleetSettings({ provider: "gcp", zone: "z" }, "autoscaler.fleet")).toThrow(
      'invalid configuration "autoscaler.fleet.project"',
    );
  });
});
