// Naming helpers shared by the components (pure functions).
import { describe, expect, it } from "vitest";
import { gcpAccountId, gcpLabels, physicalName } from "./common.js";

describe("names", () => {
  it("makes cloud-safe physical names", () => {
    expect(physicalName("FF", "Encode_GPU", "eu-west-1")).toBe("ff-encode-gpu-eu-west-1");
    expect(physicalName("a".repeat(80))).toHaveLength(63);
  });
  it("keeps GCP service-account ids within 6-30 characters without collisions", () => {
    expect(gcpAccountId("ff", "probe", "europe-west4")).toBe("ff-probe-europe-west4");
    const a = gcpAccountId("ff", "encode-cpu", "northamerica-northeast1");
    const b = gcpAccountId("ff", "encode-cpu", "northamerica-northeast2");
    expect(a).not.toBe(b);
    for (const id of [a, b, gcpAccountId("x")]) expect(id).toMatch(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
  });
  it("lowercases GCP labels", () => {
    expect(gcpLabels({ "framefleet:region": "EU-West" })).toEqual({ framefleet_region: "eu-west" });
  });
});
