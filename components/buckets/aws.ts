// MediaBuckets on AWS: S3 buckets with SSE-KMS (a customer-managed key, bucket
// keys on), all public access blocked, ACLs disabled, TLS-only bucket policy,
// lifecycle from BUCKET_POLICIES, and server access logs to a log bucket.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { BUCKET_POLICIES, BUCKET_ROLES, type BucketRole, type MediaBucketRefs, type MediaBucketsArgs } from "./index.js";

export function awsLifecycleRules(role: BucketRole): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  const p = BUCKET_POLICIES[role];
  const rule: aws.types.input.s3.BucketLifecycleConfigurationRule = {
    id: `framefleet-${role}`,
    status: "Enabled",
    filter: {},
    abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
  };
  if (p.expireDays) rule.expiration = { days: p.expireDays };
  if (p.noncurrentExpireDays) rule.noncurrentVersionExpiration = { noncurrentDays: p.noncurrentExpireDays };
  if (p.coolAfterDays) rule.transitions = [{ days: p.coolAfterDays, storageClass: "STANDARD_IA" }];
  return [rule];
}

function tlsOnlyPolicy(bucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
}

export function createAwsBuckets(parent: pulumi.Resource, name: string, a: MediaBucketsArgs): MediaBucketRefs {
  const opts = { parent };
  const tags = a.tags ?? {};
  const key = new aws.kms.Key(
    `${name}-media`,
    { description: `framefleet media buckets ${a.namePrefix}`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
    opts,
  );

  const harden = (n: string, bucket: aws.s3.Bucket, sse: "kms" | "s3") => {
    new aws.s3.BucketPublicAccessBlock(
      n,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      opts,
    );
    new aws.s3.BucketOwnershipControls(n, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      n,
      {
        bucket: bucket.id,
        rules: [
          sse === "kms"
            ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }
            : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
        ],
      },
      opts,
    );
    new aws.s3.BucketPolicy(n, { bucket: bucket.id, policy: bucket.arn.apply(tlsOnlyPolicy) }, opts);
  };

  // Server access logs cannot be delivered to an SSE-KMS bucket: the log bucket uses SSE-S3.
  const logs = new aws.s3.Bucket(`${name}-logs`, { bucket: `${a.namePrefix}-access-logs`, forceDestroy: false, tags }, opts);
  harden(`${name}-logs`, logs, "s3");
  new aws.s3.BucketLifecycleConfiguration(
    `${name}-logs`,
    { bucket: logs.id, rules: [{ id: "expire-logs", status: "Enabled", filter: {}, expiration: { days: 365 } }] },
    opts,
  );

  const buckets = {} as Record<BucketRole, pulumi.Output<string>>;
  let outputBucket!: aws.s3.Bucket;
  for (const role of BUCKET_ROLES) {
    const n = `${name}-${role}`;
    const b = new aws.s3.Bucket(n, { bucket: `${a.namePrefix}-${role}`, tags: { ...tags, "framefleet:bucket": role } }, opts);
    harden(n, b, "kms");
    if (BUCKET_POLICIES[role].versioned)
      new aws.s3.BucketVersioning(n, { bucket: b.id, versioningConfiguration: { status: "Enabled" } }, opts);
    new aws.s3.BucketLifecycleConfiguration(n, { bucket: b.id, rules: awsLifecycleRules(role) }, opts);
    new aws.s3.BucketLogging(n, { bucket: b.id, targetBucket: logs.id, targetPrefix: `${role}/` }, opts);
    buckets[role] = b.bucket;
    if (role === "output") outputBucket = b;
    if (role === "input" && a.inputNotificationUrl) awsInputNotifications(n, b, a.inputNotificationUrl, tags, opts);
  }
  return { buckets, keyId: key.arn, cdnOrigin: outputBucket.bucketRegionalDomainName };
}

/** The topic policy that lets this bucket's S3 event notifications, and nothing else, publish. */
export function s3PublishPolicy(topicArn: string, bucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "S3EventNotifications",
        Effect: "Allow",
        Principal: { Service: "s3.amazonaws.com" },
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: { ArnLike: { "aws:SourceArn": bucketArn } },
      },
    ],
  });
}

// S3 → SNS → the manager's HTTPS endpoint (which confirms the subscription and verifies
// every message's SNS signature). The topic has no KMS key: S3 can publish to an
// encrypted topic only if the key's policy names s3.amazonaws.com, which the media key's
// default policy does not, and the messages carry object names, never media.
function awsInputNotifications(
  n: string,
  bucket: aws.s3.Bucket,
  url: pulumi.Input<string>,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): void {
  const topic = new aws.sns.Topic(`${n}-events`, { tags }, opts);
  const policy = new aws.sns.TopicPolicy(
    `${n}-events`,
    { arn: topic.arn, policy: pulumi.all([topic.arn, bucket.arn]).apply(([t, b]) => s3PublishPolicy(t, b)) },
    opts,
  );
  new aws.s3.BucketNotification(
    `${n}-events`,
    { bucket: bucket.id, topics: [{ topicArn: topic.arn, events: ["s3:ObjectCreated:*"] }] },
    { ...opts, dependsOn: [policy] },
  );
  new aws.sns.TopicSubscription(
    `${n}-events`,
    { topic: topic.arn, protocol: "https", endpoint: pulumi.secret(url), endpointAutoConfirms: true, rawMessageDelivery: false },
    opts,
  );
}
