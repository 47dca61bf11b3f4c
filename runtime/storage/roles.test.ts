import { describe, expect, it } from "vitest";
import { bucketRolePolicy, s3LifecycleRules } from "./roles.js";
import { storeResolver, resolveCredentials } from "./definitions.js";

describe("bucket roles", () => {
  it("versions inputs and outputs, expires intermediates and the staging area, always aborts stale multipart uploads", () => {
    expect(bucketRolePolicy("input")).toMatchObject({ versioning: true, expire: [] });
    expect(bucketRolePolicy("intermediate")).toMatchObject({ versioning: false, expire: [{ prefix: "", days: 2 }] });
    expect(bucketRolePolicy("output")).toMatchObject({ versioning: true, expire: [{ prefix: ".framefleet-staging/", days: 2 }] });
    const rules = s3LifecycleRules(bucketRolePolicy("output"), "acme/");
    expect(rules.map((r) => r.Filter?.Prefix)).toEqual(["acme/", "acme/.framefleet-staging/", "acme/"]);
    expect(rules[0]?.AbortIncompleteMultipartUpload?.DaysAfterInitiation).toBe(1);
  });
});

describe("store definitions", () => {
  it("refuses store names that are not the task's, including prototype names", () => {
    const resolve = storeResolver({ local: { kind: "fs", root: "/tmp/ff-never-created" } });
    for (const name of ["__proto__", "constructor", "toString", "other", "../local"])
      expect(() => resolve(name), name).toThrow(/not available to this task/);
  });

  it("reads credentials by reference and says which variable is missing, never its value", () => {
    expect(resolveCredentials("m", { source: "env", vars: { accessKeyId: "K", secretAccessKey: "S" } }, { K: "id", S: "secret" })).toEqual({
      accessKeyId: "id",
      secretAccessKey: "secret",
    });
    expect(() => resolveCredentials("m", { source: "env", vars: { secretAccessKey: "S" } }, {})).toThrow(
      /variable S \(for secretAccessKey\) is not set/,
    );
    expect(resolveCredentials("m", { source: "default" })).toBeUndefined();
  });
});
