// MediaBuckets on every cloud, under Pulumi mocks (pulumi.runtime.setMocks):
// versioning, customer-managed-key encryption, lifecycles, public access blocked, access logs.
/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk the recorded, untyped resource inputs */
import { describe, expect, it } from "vitest";
import { installRecorder } from "../../stacks/synth/recorder.js";
import { MediaBuckets, BUCKET_POLICIES, bucketAccessFor } from "./index.js";

describe("bucket policy", () => {
  it("states the lifecycles once, for every cloud", () => {
    expect(BUCKET_POLICIES.input).toMatchObject({ versioned: true, expireDays: 30 });
    expect(BUCKET_POLICIES.intermediate).toMatchObject({ versioned: false, expireDays: 7 });
    expect(BUCKET_POLICIES.output.versioned).toBe(true);
    expect(BUCKET_POLICIES.output.expireDays).toBeUndefined();
  });
  it("gives each pool kind only the buckets it needs", () => {
    expect(bucketAccessFor("probe")).toEqual({ read: ["input"], write: [] });
    expect(bucketAccessFor("encode")).toEqual({ read: ["input", "intermediate"], write: ["intermediate"] });
    expect(bucketAccessFor("package")).toEqual({ read: ["intermediate"], write: ["output"] });
  });
});

describe("MediaBuckets on AWS", () => {
  it("versions input/output, encrypts with the CMK, expires as stated, blocks public access, logs access", async () => {
    const rec = await installRecorder();
    new MediaBuckets("m", { cloud: "aws", region: "eu-west-1", namePrefix: "acme-euw1" });
    await rec.settle();
    expect(
      rec
        .ofType("aws:s3/bucket:Bucket")
        .map((b) => b.inputs.bucket)
        .sort(),
    ).toEqual(["acme-euw1-access-logs", "acme-euw1-input", "acme-euw1-intermediate", "acme-euw1-output"]);
    expect(
      rec
        .ofType("aws:s3/bucketVersioning:BucketVersioning")
        .map((v) => v.name)
        .sort(),
    ).toEqual(["m-input", "m-output"]);
    const key = rec.one("aws:kms/key:Key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    const sse = rec
      .ofType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
      .filter((s) => s.name !== "m-logs");
    for (const s of sse)
      expect(s.inputs.rules).toEqual([
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: expect.stringContaining("m-media") },
          bucketKeyEnabled: true,
        },
      ]);
    const lc = (n: string) => (rec.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", n).inputs.rules as any[])[0];
    expect(lc("m-input").expiration).toEqual({ days: 30 });
    expect(lc("m-intermediate").expiration).toEqual({ days: 7 });
    expect(lc("m-output").expiration).toBeUndefined();
    for (const p of rec.ofType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"))
      expect(p.inputs).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
    expect(rec.ofType("aws:s3/bucketLogging:BucketLogging")).toHaveLength(3);
  });
});

describe("MediaBuckets on GCP", () => {
  it("uses a Cloud KMS default key, enforced public access prevention and the stated lifecycles", async () => {
    const rec = await installRecorder();
    new MediaBuckets("m", { cloud: "gcp", region: "europe-west4", namePrefix: "acme-euw4", gcpProject: "p" });
    await rec.settle();
    const b = (n: string) => rec.one("gcp:storage/bucket:Bucket", n).inputs as Record<string, any>;
    for (const role of ["input", "intermediate", "output"]) {
      expect(b(`m-${role}`)).toMatchObject({
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        encryption: { defaultKmsKeyName: expect.stringContaining("m-media") },
        logging: { logBucket: "acme-euw4-access-logs" },
      });
    }
    expect(b("m-input").versioning).toEqual({ enabled: true });
    expect(b("m-intermediate").versioning).toEqual({ enabled: false });
    expect(b("m-intermediate").lifecycleRules[0]).toEqual({ action: { type: "Delete" }, condition: { age: 7, withState: "LIVE" } });
    expect(b("m-input").lifecycleRules[0].condition.age).toBe(30);
    expect(rec.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").inputs.role).toBe("roles/cloudkms.cryptoKeyEncrypterDecrypter");
  });
});

describe("MediaBuckets on Azure", () => {
  it("uses a Key Vault CMK, no public or shared-key access, versioning per role and the stated lifecycles", async () => {
    const rec = await installRecorder();
    new MediaBuckets("m", {
      cloud: "azure",
      region: "westeurope",
      namePrefix: "acmeweu",
      azure: { resourceGroupName: "rg", tenantId: "t", allowedSubnetIds: ["subnet-w"] },
    });
    await rec.settle();
    for (const a of rec.ofType("azure-native:storage:StorageAccount")) {
      expect(a.inputs).toMatchObject({
        allowBlobPublicAccess: false,
        allowSharedKeyAccess: false,
        encryption: { keySource: "Microsoft.Keyvault", requireInfrastructureEncryption: true },
      });
      expect(a.inputs.networkRuleSet).toMatchObject({
        defaultAction: "Deny",
        virtualNetworkRules: [{ virtualNetworkResourceId: "subnet-w", action: "Allow" }],
      });
    }
    const svc = (n: string) => rec.one("azure-native:storage:BlobServiceProperties", n).inputs;
    expect(svc("m-input").isVersioningEnabled).toBe(true);
    expect(svc("m-intermediate").isVersioningEnabled).toBe(false);
    const rule = (n: string) => (rec.one("azure-native:storage:ManagementPolicy", n).inputs as any).policy.rules[0].definition.actions;
    expect(rule("m-intermediate").baseBlob.delete).toEqual({ daysAfterCreationGreaterThan: 7 });
    expect(rule("m-input").baseBlob.delete).toEqual({ daysAfterCreationGreaterThan: 30 });
    expect(rec.ofType("azure-native:storage:BlobContainer").every((c) => c.inputs.publicAccess === "None")).toBe(true);
    expect(rec.ofType("azure-native:monitor:DiagnosticSetting")).toHaveLength(3);
  });
});

describe("input-bucket notifications for watch folders", () => {
  const url = "https://manager.example.net/v1/notifications/watch/0123456789abcdef0123456789abcdef?token=s3cr3t";

  it("AWS: S3 event notifications to an SNS topic only this bucket may publish to, an HTTPS subscription holding the URL as a secret", async () => {
    const rec = await installRecorder();
    new MediaBuckets("m", { cloud: "aws", region: "eu-west-1", namePrefix: "acme-euw1", inputNotificationUrl: url });
    await rec.settle();
    const n = rec.one("aws:s3/bucketNotification:BucketNotification", "m-input-events").inputs as any;
    expect(n.topics).toEqual([{ topicArn: expect.any(String), events: ["s3:ObjectCreated:*"] }]);
    const policy = JSON.parse(rec.one("aws:sns/topicPolicy:TopicPolicy", "m-input-events").inputs.policy as string);
    expect(policy.Statement[0]).toMatchObject({
      Principal: { Service: "s3.amazonaws.com" },
      Action: "sns:Publish",
      Condition: { ArnLike: { "aws:SourceArn": expect.any(String) } },
    });
    const sub = rec.one("aws:sns/topicSubscription:TopicSubscription", "m-input-events");
    expect(sub.inputs).toMatchObject({ protocol: "https", endpoint: url, endpointAutoConfirms: true });
    expect(sub.secretPaths).toContain("endpoint");
    // only the input bucket is watched
    expect(rec.ofType("aws:s3/bucketNotification:BucketNotification")).toHaveLength(1);
  });

  it("GCP: OBJECT_FINALIZE notifications to a Pub/Sub topic the storage agent may publish to, pushed to the URL", async () => {
    const rec = await installRecorder();
    new MediaBuckets("m", { cloud: "gcp", region: "europe-west4", namePrefix: "acme-euw4", gcpProject: "p", inputNotificationUrl: url });
    await rec.settle();
    expect(rec.one("gcp:storage/notification:Notification", "m-input-events").inputs).toMatchObject({
      payloadFormat: "JSON_API_V1",
      eventTypes: ["OBJECT_FINALIZE"],
      bucket: "acme-euw4-input",
    });
    expect(rec.one("gcp:pubsub/topicIAMMember:TopicIAMMember", "m-input-events-gcs").inputs.role).toBe("roles/pubsub.publisher");
    const sub = rec.one("gcp:pubsub/subscription:Subscription", "m-input-events");
    expect((sub.inputs as any).pushConfig.pushEndpoint).toBe(url);
    expect(sub.secretPaths, JSON.stringify(sub.secretPaths)).toContain("pushConfig"); // Pulumi marks the enclosing object secret
  });

  it("Azure: an Event Grid system topic on the input account, a webhook subscription for BlobCreated in the input container", async () => {
    const rec = await installRecorder();
    new MediaBuckets("m", {
      cloud: "azure",
      region: "westeurope",
      namePrefix: "acmeweu",
      azure: { resourceGroupName: "rg", tenantId: "t" },
      inputNotificationUrl: url,
    });
    await rec.settle();
    expect(rec.one("azure-native:eventgrid:SystemTopic", "m-input-events").inputs.topicType).toBe("Microsoft.Storage.StorageAccounts");
    const sub = rec.one("azure-native:eventgrid:SystemTopicEventSubscription", "m-input-events");
    expect(sub.inputs).toMatchObject({
      destination: { endpointType: "WebHook", endpointUrl: url },
      eventDeliverySchema: "EventGridSchema",
      filter: { includedEventTypes: ["Microsoft.Storage.BlobCreated"], subjectBeginsWith: "/blobServices/default/containers/input/blobs/" },
    });
    expect(sub.secretPaths, JSON.stringify(sub.secretPaths)).toContain("destination"); // Pulumi marks the enclosing object secret
  });
});
