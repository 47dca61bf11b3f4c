// applyBucketRole against a real S3 implementation: OpenStack Swift's s3api (Debian's
// Swift 2.30, test/support/swift.ts), once with Swift's object versioning in the proxy
// pipeline and once without.
// What Swift supports, as observed here: PutBucketVersioning / ListObjectVersions only with
// object versioning enabled (otherwise 501 NotImplemented); no bucket lifecycle at all (its
// s3api answers any PutBucketLifecycleConfiguration with MalformedXML, and an empty 200 to
// GetBucketLifecycleConfiguration). So this proves versioning end to end and that an
// unsupported step is reported rather than thrown; it cannot prove that S3 accepts and
// enforces the lifecycle rules (their XML shape is checked only by the SDK's serialiser and
// the unit test of s3LifecycleRules).
import { CreateBucketCommand, GetBucketVersioningCommand, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSwift, type SwiftServer } from "../../test/support/swift.js";
import { startTestRegion, type TestRegion } from "../../test/support/region.js";
import { applyBucketRole } from "./roles.js";
import { S3Store } from "./s3.js";

function store(swift: SwiftServer, bucket: string, prefix = ""): S3Store {
  return new S3Store("media", {
    bucket,
    prefix,
    endpoint: swift.endpoint,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
}

describe("applyBucketRole against Swift's s3api with object versioning", () => {
  let swift: SwiftServer;
  const stores: S3Store[] = [];
  beforeAll(async () => {
    swift = await startSwift({ versioning: true });
  }, 120_000);
  afterAll(async () => {
    for (const s of stores) s.destroy();
    await swift?.stop();
  });

  it("versions an input bucket (an overwritten master stays recoverable) and reports the lifecycle as unsupported", async () => {
    const s = store(swift, "acme-masters", "tenant/");
    stores.push(s);
    await s.client.send(new CreateBucketCommand({ Bucket: "acme-masters" }));
    expect(await applyBucketRole(s, "input")).toEqual({ versioning: "applied", lifecycle: "unsupported" });
    expect((await s.client.send(new GetBucketVersioningCommand({ Bucket: "acme-masters" }))).Status).toBe("Enabled");
    await s.write("masters/a.mov", "first cut");
    await s.write("masters/a.mov", "second cut");
    const versions =
      (await s.client.send(new ListObjectVersionsCommand({ Bucket: "acme-masters", Prefix: "tenant/masters/" }))).Versions ?? [];
    expect(versions.map((v) => [v.Key, v.IsLatest])).toEqual([
      ["tenant/masters/a.mov", true],
      ["tenant/masters/a.mov", false],
    ]);
    // applying again is harmless
    expect(await applyBucketRole(s, "input")).toEqual({ versioning: "applied", lifecycle: "unsupported" });
  });

  it("leaves versioning alone for an intermediate bucket, even one the customer versioned", async () => {
    const versioned = store(swift, "acme-masters", "scratch/");
    stores.push(versioned);
    expect(await applyBucketRole(versioned, "intermediate")).toEqual({ versioning: "unchanged", lifecycle: "unsupported" });
    expect((await versioned.client.send(new GetBucketVersioningCommand({ Bucket: "acme-masters" }))).Status).toBe("Enabled");
    const plain = store(swift, "acme-scratch");
    stores.push(plain);
    await plain.client.send(new CreateBucketCommand({ Bucket: "acme-scratch" }));
    expect(await applyBucketRole(plain, "intermediate")).toEqual({ versioning: "unchanged", lifecycle: "unsupported" });
    expect((await plain.client.send(new GetBucketVersioningCommand({ Bucket: "acme-scratch" }))).Status).toBeUndefined();
  });

  it("fails loudly for a bucket that does not exist, rather than calling it unsupported", async () => {
    const missing = store(swift, "acme-missing");
    stores.push(missing);
    await expect(applyBucketRole(missing, "output")).rejects.toMatchObject({ name: "NoSuchBucket" });
  });
});

describe("a store registered with applyRole, through the manager's API", () => {
  let swift: SwiftServer;
  let region: TestRegion;
  let s: S3Store;
  beforeAll(async () => {
    swift = await startSwift({ versioning: true });
    process.env.FF_ROLES_KEY = swift.accessKeyId;
    process.env.FF_ROLES_SECRET = swift.secretAccessKey;
    s = store(swift, "acme-inputs");
    await s.client.send(new CreateBucketCommand({ Bucket: "acme-inputs" }));
    region = await startTestRegion({ fleet: false });
  }, 240_000);
  afterAll(async () => {
    await region?.cleanup();
    s?.destroy();
    await swift?.stop();
    delete process.env.FF_ROLES_KEY;
    delete process.env.FF_ROLES_SECRET;
  });

  it("applies the role with the manager's credentials, and registers nothing when it cannot", async () => {
    const admin = await region.key("acme", "admin");
    const body = {
      name: "masters",
      kind: "s3",
      bucket: "acme-inputs",
      endpoint: swift.endpoint,
      region: "us-east-1",
      role: "input",
      applyRole: true,
      credentials: { source: "env", vars: { accessKeyId: "FF_ROLES_KEY", secretAccessKey: "FF_ROLES_SECRET" } },
    };
    const ok = await region.api("/v1/stores", { method: "POST", key: admin, json: body });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.roleApplied).toEqual({ versioning: "applied", lifecycle: "unsupported" });
    expect((await s.client.send(new GetBucketVersioningCommand({ Bucket: "acme-inputs" }))).Status).toBe("Enabled");

    const missing = await region.api("/v1/stores", { method: "POST", key: admin, json: { ...body, name: "gone", bucket: "acme-nowhere" } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].field).toBe("/applyRole");
    expect(missing.body.errors[0].reason).toMatch(/NoSuchBucket/);
    expect((await region.api("/v1/stores/gone", { key: admin })).status).toBe(404);

    const gcs = await region.api("/v1/stores", {
      method: "POST",
      key: admin,
      json: { name: "g", kind: "gcs", bucket: "acme-g", applyRole: true },
    });
    expect(gcs.status).toBe(400);
    expect(gcs.body.errors).toEqual([
      { field: "/applyRole", reason: "GCS and Azure buckets take their role from the buckets component (components/buckets)" },
    ]);
  });
});

describe("applyBucketRole against Swift's s3api without object versioning", () => {
  let swift: SwiftServer;
  let s: S3Store;
  beforeAll(async () => {
    swift = await startSwift();
    s = store(swift, "acme-outputs");
    await s.client.send(new CreateBucketCommand({ Bucket: "acme-outputs" }));
  }, 120_000);
  afterAll(async () => {
    s?.destroy();
    await swift?.stop();
  });

  it("reports versioning as unsupported (501) instead of failing the registration", async () => {
    expect(await applyBucketRole(s, "output")).toEqual({ versioning: "unsupported", lifecycle: "unsupported" });
  });
});
