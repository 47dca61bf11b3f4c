import { describe, expect, it } from "vitest";
import { runCases } from "../testing/run-cases.js";
import { computeCases } from "../testing/cases/compute.cases.js";
import { diskEncryption, noSecretsInUserData, spotOnDemandBase } from "./compute.js";
import { T } from "./network.js";
import { res } from "../testing/helpers.js";

runCases(computeCases);

describe("compute rule settings", () => {
  it("spot-on-demand-base reads the tier table from policy config", () => {
    const pool = res(
      T.awsAsg,
      { mixedInstancesPolicy: { instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0 } } },
      "p",
    );
    expect(spotOnDemandBase.check(pool)).toHaveLength(1);
    expect(spotOnDemandBase.check(pool, { tiers: { standard: { onDemandBase: 0, onDemandPercentageAboveBase: 0 } } })).toEqual([]);
  });
  it("disk-encryption requires Cloud KMS keys on GCP only when configured", () => {
    const t = res(T.gcpInstanceTemplate, { disks: [{ boot: true }] });
    expect(diskEncryption.check(t)).toEqual([]);
    expect(diskEncryption.check(t, { gcpRequireCmek: true })).toEqual([expect.stringMatching(/no Cloud KMS key/)]);
    expect(
      diskEncryption.check(res(T.gcpInstanceTemplate, { disks: [{ diskEncryptionKey: { kmsKeySelfLink: "k" } }] }), {
        gcpRequireCmek: true,
      }),
    ).toEqual([]);
  });
  it("no-secrets-in-user-data takes extra patterns", () => {
    const t = res(T.awsInstance, { userData: "LICENSE=ff-lic-1234" });
    expect(noSecretsInUserData.check(t)).toEqual([]);
    expect(noSecretsInUserData.check(t, { extraPatterns: ["ff-lic-\\d+"] })).toHaveLength(1);
  });
});
