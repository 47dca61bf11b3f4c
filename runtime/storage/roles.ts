// Bucket roles in a broadcaster's deployment, and what each asks of the bucket:
//
//   input         masters; versioned (an overwritten master stays recoverable); old versions expire late
//   intermediate  attempt-scoped work; not versioned; everything expires quickly
//   output        renditions, CDN-fronted; versioned; the engine's staging area inside it
//                 (`.framefleet-staging/`, attempt-scoped keys) expires quickly
//
// Every role aborts incomplete multipart uploads after a day (a worker that died mid-upload
// leaves parts that are billed but invisible). The cleanup sweep removes the staging of
// failed and cancelled jobs at once; these lifecycle rules are the backstop.
// The Pulumi components declare the same policy on buckets they create; applyBucketRole
// sets it on an existing S3 bucket (S3-compatible servers may lack lifecycle support).
import { PutBucketLifecycleConfigurationCommand, PutBucketVersioningCommand, type LifecycleRule } from "@aws-sdk/client-s3";
import { RESERVED_PREFIX } from "./keys.js";
import type { S3Store } from "./s3.js";

export type BucketRole = "input" | "intermediate" | "output";

export interface BucketRolePolicy {
  versioning: boolean;
  /** prefix ("" = the whole store) -> days after which objects expire */
  expire: { prefix: string; days: number }[];
  noncurrentVersionDays?: number;
  abortIncompleteMultipartDays: number;
}

export function bucketRolePolicy(
  role: BucketRole,
  o: { stagingDays?: number; intermediateDays?: number; noncurrentDays?: number } = {},
): BucketRolePolicy {
  switch (role) {
    case "input":
      return { versioning: true, expire: [], noncurrentVersionDays: o.noncurrentDays ?? 90, abortIncompleteMultipartDays: 1 };
    case "intermediate":
      return { versioning: false, expire: [{ prefix: "", days: o.intermediateDays ?? 2 }], abortIncompleteMultipartDays: 1 };
    case "output":
      return {
        versioning: true,
        expire: [{ prefix: `${RESERVED_PREFIX}/`, days: o.stagingDays ?? 2 }],
        noncurrentVersionDays: o.noncurrentDays ?? 30,
        abortIncompleteMultipartDays: 1,
      };
  }
}

/** The S3 lifecycle rules of a policy, for a store whose keys live under `storePrefix`. */
export function s3LifecycleRules(p: BucketRolePolicy, storePrefix = ""): LifecycleRule[] {
  const rules: LifecycleRule[] = [
    {
      ID: "framefleet-abort-multipart",
      Status: "Enabled",
      Filter: { Prefix: storePrefix },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: p.abortIncompleteMultipartDays },
    },
  ];
  p.expire.forEach((e, i) =>
    rules.push({
      ID: `framefleet-expire-${i}`,
      Status: "Enabled",
      Filter: { Prefix: storePrefix + e.prefix },
      Expiration: { Days: e.days },
    }),
  );
  if (p.noncurrentVersionDays)
    rules.push({
      ID: "framefleet-noncurrent",
      Status: "Enabled",
      Filter: { Prefix: storePrefix },
      NoncurrentVersionExpiration: { NoncurrentDays: p.noncurrentVersionDays },
    });
  return rules;
}

/** Applies a role's versioning and lifecycle to the store's bucket; reports what the server refused. */
export async function applyBucketRole(
  store: S3Store,
  role: BucketRole,
): Promise<{ versioning: "applied" | "unsupported"; lifecycle: "applied" | "unsupported" }> {
  const p = bucketRolePolicy(role);
  const unsupported = (e: unknown) => ["NotImplemented", "MalformedXML", "InvalidRequest"].includes((e as { name?: string }).name ?? "");
  let versioning: "applied" | "unsupported" = "applied";
  try {
    await store.client.send(
      new PutBucketVersioningCommand({ Bucket: store.bucket, VersioningConfiguration: { Status: p.versioning ? "Enabled" : "Suspended" } }),
    );
  } catch (e) {
    if (!unsupported(e)) throw e;
    versioning = "unsupported";
  }
  let lifecycle: "applied" | "unsupported" = "applied";
  try {
    await store.client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: store.bucket,
        LifecycleConfiguration: { Rules: s3LifecycleRules(p, store.prefix) },
      }),
    );
  } catch (e) {
    if (!unsupported(e)) throw e;
    lifecycle = "unsupported";
  }
  return { versioning, lifecycle };
}
