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
import {
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  type LifecycleRule,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
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

export type RoleStep = "applied" | "unchanged" | "unsupported";

/**
 * Applies a role's versioning and lifecycle to the store's bucket; reports what the
 * server refused. The bucket is the customer's: versioning is only ever enabled (never
 * suspended, so "intermediate" leaves a versioned bucket as it is), and the lifecycle
 * keeps every rule that is not framefleet's (S3 replaces a bucket's whole lifecycle
 * configuration on each PUT, so ours are merged into what is there, by their IDs).
 * `unsupported`: the server answered NotImplemented (Swift's s3api without object
 * versioning) or refused the lifecycle document (Swift's s3api has no lifecycle and
 * answers MalformedXML to any).
 */
export async function applyBucketRole(store: S3Store, role: BucketRole): Promise<{ versioning: RoleStep; lifecycle: RoleStep }> {
  const p = bucketRolePolicy(role);
  const unsupported = (e: unknown) => ["NotImplemented", "MalformedXML", "InvalidRequest"].includes((e as { name?: string }).name ?? "");
  let versioning: RoleStep = "unchanged";
  if (p.versioning) {
    try {
      await store.client.send(new PutBucketVersioningCommand({ Bucket: store.bucket, VersioningConfiguration: { Status: "Enabled" } }));
      versioning = "applied";
    } catch (e) {
      if (!unsupported(e)) throw e;
      versioning = "unsupported";
    }
  }
  let existing: LifecycleRule[] = [];
  try {
    existing = (await store.client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: store.bucket }))).Rules ?? [];
  } catch (e) {
    const name = (e as { name?: string }).name ?? "";
    if (name !== "NoSuchLifecycleConfiguration" && !unsupported(e)) throw e;
  }
  // ours are recognised by an ID naming the store's prefix: two stores on one bucket keep each other's
  // S3 caps rule IDs at 255 characters; a long prefix is named by its hash
  const tag = `@${store.prefix.length > 200 ? createHash("sha256").update(store.prefix).digest("hex") : store.prefix || "/"}`;
  const mine = (r: LifecycleRule) => !!r.ID?.startsWith("framefleet-") && r.ID.endsWith(tag);
  const ours = s3LifecycleRules(p, store.prefix).map((r) => ({ ...r, ID: `${r.ID}${tag}` }));
  let lifecycle: RoleStep = "applied";
  try {
    await store.client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: store.bucket,
        LifecycleConfiguration: { Rules: [...existing.filter((r) => !mine(r)), ...ours] },
      }),
    );
  } catch (e) {
    if (!unsupported(e)) throw e;
    lifecycle = "unsupported";
  }
  return { versioning, lifecycle };
}
