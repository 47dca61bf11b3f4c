// MediaBuckets: optional per-region object storage for media (a customer may
// bring their own). Three buckets with one shared, provider-neutral lifecycle
// contract (BUCKET_POLICIES) that each cloud renders: input (versioned,
// unprocessed objects kept 30 days), intermediate (deleted after 7 days, same
// region as the encode pools), output (versioned, long retention, CDN-ready).
// All encrypted with a customer-managed key, public access blocked, access
// logged. Which pool may touch which bucket is `bucketAccessFor`.
import * as pulumi from "@pulumi/pulumi";
import { type Cloud, unreachable } from "../common.js";
import type { PoolKind } from "../workers/index.js";
import { createAwsBuckets } from "./aws.js";
import { createGcpBuckets } from "./gcp.js";
import { createAzureBuckets } from "./azure.js";

export const BUCKET_ROLES = ["input", "intermediate", "output"] as const;
export type BucketRole = (typeof BUCKET_ROLES)[number];

export interface BucketPolicy {
  versioned: boolean;
  /** delete current objects this many days after creation (undefined: keep) */
  expireDays?: number;
  /** delete noncurrent versions this many days after they become noncurrent */
  noncurrentExpireDays?: number;
  /** move to infrequent-access / nearline / cool storage after this many days */
  coolAfterDays?: number;
}

export const BUCKET_POLICIES: Record<BucketRole, BucketPolicy> = {
  input: { versioned: true, expireDays: 30, noncurrentExpireDays: 30 },
  intermediate: { versioned: false, expireDays: 7 },
  output: { versioned: true, noncurrentExpireDays: 90, coolAfterDays: 90 },
};

/** Least privilege per pool kind: probe reads input; encode reads input and writes intermediate; package reads intermediate and writes output. */
export function bucketAccessFor(kind: PoolKind): { read: BucketRole[]; write: BucketRole[] } {
  switch (kind) {
    case "probe":
      return { read: ["input"], write: [] };
    case "encode":
      return { read: ["input", "intermediate"], write: ["intermediate"] };
    case "package":
      return { read: ["intermediate"], write: ["output"] };
  }
}

export interface MediaBucketsArgs {
  cloud: Cloud;
  region: string;
  /** globally unique name prefix, e.g. acme-media-euw1 */
  namePrefix: string;
  gcpProject?: pulumi.Input<string>;
  azure?: { resourceGroupName: pulumi.Input<string>; tenantId?: pulumi.Input<string>; allowedSubnetIds?: pulumi.Input<string>[] };
  tags?: Record<string, string>;
  /**
   * Watch folders on the input bucket by bucket notification: the manager's notification
   * URL for the folder (`https://<manager>/v1/notifications/watch/<id>?token=…`, from
   * POST /v1/watch-folders/{name}/notification-token; a secret). AWS: S3 event
   * notification → SNS topic → HTTPS subscription; GCP: bucket notification → Pub/Sub
   * topic → push subscription; Azure: Event Grid system topic on the account → webhook
   * subscription for BlobCreated in the input container. The manager polls as well.
   */
  inputNotificationUrl?: pulumi.Input<string>;
}

export interface MediaBucketRefs {
  /** AWS/GCP: bucket names; Azure: blob container resource ids (the role-assignment scope) */
  buckets: Record<BucketRole, pulumi.Output<string>>;
  /** AWS: KMS key ARN hosts need for the buckets; GCP/Azure: the key id (the storage service uses it) */
  keyId: pulumi.Output<string>;
  /** origin a CDN fronts for the output bucket */
  cdnOrigin: pulumi.Output<string>;
}

export class MediaBuckets extends pulumi.ComponentResource {
  readonly refs: MediaBucketRefs;
  constructor(name: string, args: MediaBucketsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("framefleet:buckets:MediaBuckets", name, {}, opts);
    switch (args.cloud) {
      case "aws":
        this.refs = createAwsBuckets(this, name, args);
        break;
      case "gcp":
        this.refs = createGcpBuckets(this, name, args);
        break;
      case "azure":
        this.refs = createAzureBuckets(this, name, args);
        break;
      default:
        unreachable(args.cloud, "cloud");
    }
    this.registerOutputs({ buckets: this.refs.buckets, keyId: this.refs.keyId });
  }
}
