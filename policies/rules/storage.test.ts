import { describe, expect, it } from "vitest";
import { runCases } from "../testing/run-cases.js";
import { storageCases, awsBucket } from "../testing/cases/storage.cases.js";
import { awsBucketControlsPresent, bucketEncryption, bucketVersioning, databaseEncryptedBackedUp, S } from "./storage.js";
import { res } from "../testing/helpers.js";

runCases(storageCases);

describe("storage rule settings", () => {
  it("bucket-encryption accepts provider-managed keys when requireCustomerManagedKey is false", () => {
    const sse = res(S.awsSse, { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
    expect(bucketEncryption.check(sse)).toHaveLength(1);
    expect(bucketEncryption.check(sse, { requireCustomerManagedKey: false })).toEqual([]);
    expect(
      bucketEncryption.check(res(S.awsSse, { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: {} }] }), {
        requireCustomerManagedKey: false,
      }),
    ).toHaveLength(1);
  });
  it("versioning exemptions come from policy config", () => {
    const v = res(S.awsVersioning, { bucket: "b", versioningConfiguration: { status: "Suspended" } }, "media-intermediate-versioning");
    expect(bucketVersioning.check(v)).toEqual([]);
    expect(bucketVersioning.check(v, { exemptPatterns: [] })).toHaveLength(1);
    expect(
      awsBucketControlsPresent.checkStack(awsBucket("media-intermediate", { versioning: false }), { exemptPatterns: [] }),
    ).toHaveLength(1);
  });
  it("database-encrypted-backed-up takes the minimum retention from config", () => {
    const db = res(S.rds, { storageEncrypted: true, backupRetentionPeriod: 7 });
    expect(databaseEncryptedBackedUp.check(db)).toEqual([]);
    expect(databaseEncryptedBackedUp.check(db, { minBackupRetentionDays: 14 })).toHaveLength(1);
  });
});
