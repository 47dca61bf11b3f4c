// MediaBuckets on GCP: regional buckets with a Cloud KMS default key (granted to
// the Cloud Storage service agent), uniform bucket-level access, public access
// prevention enforced, lifecycle from BUCKET_POLICIES, usage logs to a log bucket.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../common.js";
import { BUCKET_POLICIES, BUCKET_ROLES, type BucketRole, type MediaBucketRefs, type MediaBucketsArgs } from "./index.js";

export function gcpLifecycleRules(role: BucketRole): gcp.types.input.storage.BucketLifecycleRule[] {
  const p = BUCKET_POLICIES[role];
  const rules: gcp.types.input.storage.BucketLifecycleRule[] = [];
  if (p.expireDays) rules.push({ action: { type: "Delete" }, condition: { age: p.expireDays, withState: "LIVE" } });
  if (p.noncurrentExpireDays)
    rules.push({ action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: p.noncurrentExpireDays, withState: "ARCHIVED" } });
  if (p.coolAfterDays)
    rules.push({ action: { type: "SetStorageClass", storageClass: "NEARLINE" }, condition: { age: p.coolAfterDays, withState: "LIVE" } });
  rules.push({ action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: 1 } });
  return rules;
}

export function createGcpBuckets(parent: pulumi.Resource, name: string, a: MediaBucketsArgs): MediaBucketRefs {
  const opts = { parent };
  const project = a.gcpProject;
  const ring = new gcp.kms.KeyRing(`${name}-media`, { project, location: a.region, name: physicalName(a.namePrefix, "media") }, opts);
  const key = new gcp.kms.CryptoKey(
    `${name}-media`,
    { keyRing: ring.id, name: "media", rotationPeriod: "7776000s", purpose: "ENCRYPT_DECRYPT" },
    opts,
  );
  const agent = gcp.storage.getProjectServiceAccountOutput({ project }, { parent });
  const grant = new gcp.kms.CryptoKeyIAMMember(
    `${name}-gcs-agent`,
    {
      cryptoKeyId: key.id,
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: pulumi.interpolate`serviceAccount:${agent.emailAddress}`,
    },
    opts,
  );
  const common = {
    project,
    location: a.region.toUpperCase(),
    uniformBucketLevelAccess: true,
    publicAccessPrevention: "enforced",
    forceDestroy: false,
  };

  const logs = new gcp.storage.Bucket(
    `${name}-logs`,
    { ...common, name: `${a.namePrefix}-access-logs`, lifecycleRules: [{ action: { type: "Delete" }, condition: { age: 365 } }] },
    opts,
  );
  const buckets = {} as Record<BucketRole, pulumi.Output<string>>;
  let output!: gcp.storage.Bucket;
  for (const role of BUCKET_ROLES) {
    const b = new gcp.storage.Bucket(
      `${name}-${role}`,
      {
        ...common,
        name: `${a.namePrefix}-${role}`,
        versioning: { enabled: BUCKET_POLICIES[role].versioned },
        encryption: { defaultKmsKeyName: key.id },
        lifecycleRules: gcpLifecycleRules(role),
        logging: { logBucket: logs.name, logObjectPrefix: role },
        labels: { "framefleet-bucket": role },
      },
      { parent, dependsOn: [grant] },
    );
    buckets[role] = b.name;
    if (role === "output") output = b;
    if (role === "input" && a.inputNotificationUrl) {
      // bucket → Pub/Sub topic (the Cloud Storage service agent publishes) → push to the manager
      const topic = new gcp.pubsub.Topic(`${name}-input-events`, { project, name: physicalName(a.namePrefix, "input-events") }, opts);
      const publish = new gcp.pubsub.TopicIAMMember(
        `${name}-input-events-gcs`,
        { project, topic: topic.name, role: "roles/pubsub.publisher", member: pulumi.interpolate`serviceAccount:${agent.emailAddress}` },
        opts,
      );
      new gcp.storage.Notification(
        `${name}-input-events`,
        { bucket: b.name, payloadFormat: "JSON_API_V1", topic: topic.id, eventTypes: ["OBJECT_FINALIZE"] },
        { parent, dependsOn: [publish] },
      );
      new gcp.pubsub.Subscription(
        `${name}-input-events`,
        {
          project,
          topic: topic.name,
          pushConfig: { pushEndpoint: pulumi.secret(a.inputNotificationUrl) },
          ackDeadlineSeconds: 60,
          messageRetentionDuration: "604800s",
          retryPolicy: { minimumBackoff: "10s", maximumBackoff: "600s" },
        },
        opts,
      );
    }
  }
  return { buckets, keyId: key.id, cdnOrigin: output.name };
}
