// Watch folders fed by bucket notifications, over real HTTP into a real manager (a region
// on loopback with the run's PostgreSQL; no fleet, so the jobs stay queued and only their
// creation is under test). The stores are real servers: Azurite (Microsoft's Blob emulator)
// for Event Grid, the local GCS endpoint for Pub/Sub push, OpenStack Swift's s3api for
// S3-through-SNS. The clouds' push services themselves cannot run here, so the test posts
// the payloads they send, in their documented shapes: Event Grid's event array (with the
// subscription validation handshake), the Pub/Sub push envelope with a base64 object
// resource, and SNS's SubscriptionConfirmation and Notification envelopes. SNS envelopes
// are signed with a local certificate served by a local stand-in for SNS (which also
// answers SubscribeURL); the manager is told to trust that host. What this cannot prove:
// that Azure, Google and AWS deliver to the URL (network, TLS, their retries), and that the
// real SNS certificate chain verifies — only that the same signature algorithm does.
import http from "node:http";
import { createSign, randomBytes, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { generateKeyPairSync } from "node:crypto";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type Azurite } from "./support/azurite.js";
import { startFakeGcs, type FakeGcs } from "./support/fake-gcs.js";
import { startSwift, type SwiftServer } from "./support/swift.js";
import { startTestRegion, type TestRegion } from "./support/region.js";
import { AzureStore } from "../runtime/storage/azure.js";
import { GcsStore } from "../runtime/storage/gcs.js";
import { S3Store } from "../runtime/storage/s3.js";
import { snsStringToSign } from "../runtime/manager/watch-notify.js";
import { pollWatchFolders } from "../runtime/manager/storage-sweep.js";
import { claimWatchObject } from "../runtime/manager/store/index.js";
import { engineHooks } from "../runtime/cli/region.js";

const ENV = {
  azAccount: "FF_WN_AZ_ACCOUNT",
  azKey: "FF_WN_AZ_KEY",
  gcsEmail: "FF_WN_GCS_EMAIL",
  gcsKey: "FF_WN_GCS_KEY",
  s3Key: "FF_WN_S3_KEY",
  s3Secret: "FF_WN_S3_SECRET",
};

const template = {
  apiVersion: "framefleet/v1",
  engine: { name: "ffmpeg", version: "5.1" },
  input: { uri: "store://x/unused" },
  output: { uri: "store://x/unused/" },
  video: { renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 600 } }] },
  packaging: { mp4: {} },
};

/** A local stand-in for SNS: serves the signing certificate and records SubscribeURL visits. */
async function startFakeSns() {
  const forge = (await import("node-forge")).default;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString());
  cert.serialNumber = "01" + randomBytes(8).toString("hex");
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3600_000);
  const attrs = [{ name: "commonName", value: "sns.us-east-1.amazonaws.com" }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }).toString()), forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  const confirmed: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === "/SimpleNotificationService-local.pem") {
      res.writeHead(200, { "content-type": "application/x-pem-file" }).end(pem);
    } else if (req.url?.startsWith("/?Action=ConfirmSubscription")) {
      confirmed.push(req.url);
      res.writeHead(200, { "content-type": "text/xml" }).end("<ConfirmSubscriptionResponse/>");
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (m: Record<string, string>, version: "1" | "2" = "1") => {
    const full = { ...m, SignatureVersion: version, SigningCertURL: `${base}/SimpleNotificationService-local.pem` };
    const signature = createSign(version === "2" ? "RSA-SHA256" : "RSA-SHA1")
      .update(snsStringToSign(full))
      .sign(privateKey, "base64");
    return { ...full, Signature: signature };
  };
  return {
    base,
    confirmed,
    sign,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe("watch folders by bucket notification", () => {
  let azurite: Azurite;
  let gcs: FakeGcs;
  let swift: SwiftServer;
  let sns: Awaited<ReturnType<typeof startFakeSns>>;
  let region: TestRegion;
  let az: AzureStore;
  let gs: GcsStore;
  let s3: S3Store;
  const gcsKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const clientEmail = "watch@acme.iam.gserviceaccount.com";
  const gcsPem = gcsKeys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    [azurite, gcs, swift, sns] = await Promise.all([
      startAzurite(),
      startFakeGcs({ publicKey: gcsKeys.publicKey, clientEmail }),
      startSwift(),
      startFakeSns(),
    ]);
    Object.assign(process.env, {
      [ENV.azAccount]: azurite.account,
      [ENV.azKey]: azurite.accountKey,
      [ENV.gcsEmail]: clientEmail,
      [ENV.gcsKey]: gcsPem,
      [ENV.s3Key]: swift.accessKeyId,
      [ENV.s3Secret]: swift.secretAccessKey,
    });
    az = new AzureStore("azmedia", {
      container: "acme",
      endpoint: azurite.endpoint,
      credentials: { accountName: azurite.account, accountKey: azurite.accountKey },
    });
    await az.container.create();
    const globexContainer = new AzureStore("g", {
      container: "globex",
      endpoint: azurite.endpoint,
      credentials: { accountName: azurite.account, accountKey: azurite.accountKey },
    });
    await globexContainer.container.create();
    gs = new GcsStore("gcsmedia", {
      bucket: "acme-gcs",
      prefix: "media/",
      endpoint: gcs.endpoint,
      credentials: { client_email: clientEmail, private_key: gcsPem },
    });
    s3 = new S3Store("s3media", {
      bucket: "acme-s3",
      endpoint: swift.endpoint,
      credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    });
    await s3.client.send(new CreateBucketCommand({ Bucket: "acme-s3" }));
    region = await startTestRegion({ fleet: false, snsUrlAllowed: (u) => u.startsWith(sns.base + "/") });

    const admin = { acme: await region.key("acme", "admin"), globex: await region.key("globex", "admin") };
    const azCreds = { source: "env", vars: { accountName: ENV.azAccount, accountKey: ENV.azKey } };
    const stores = [
      ["acme", { name: "azmedia", kind: "azure", bucket: "acme", endpoint: azurite.endpoint, credentials: azCreds }],
      ["globex", { name: "azmedia", kind: "azure", bucket: "globex", endpoint: azurite.endpoint, credentials: azCreds }],
      [
        "acme",
        {
          name: "gcsmedia",
          kind: "gcs",
          bucket: "acme-gcs",
          prefix: "media/",
          endpoint: gcs.endpoint,
          credentials: { source: "env", vars: { client_email: ENV.gcsEmail, private_key: ENV.gcsKey } },
        },
      ],
      [
        "acme",
        {
          name: "s3media",
          kind: "s3",
          bucket: "acme-s3",
          endpoint: swift.endpoint,
          region: "us-east-1",
          credentials: { source: "env", vars: { accessKeyId: ENV.s3Key, secretAccessKey: ENV.s3Secret } },
        },
      ],
    ] as const;
    for (const [tenant, body] of stores) {
      const r = await region.api("/v1/stores", { method: "POST", key: admin[tenant], json: body });
      if (r.status !== 201) throw new Error(`store ${tenant}/${body.name}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const folders = [
      ["acme", "az-inbox", "azmedia"],
      ["globex", "g-inbox", "azmedia"],
      ["acme", "gcs-inbox", "gcsmedia"],
      ["acme", "s3-inbox", "s3media"],
    ] as const;
    for (const [tenant, name, store] of folders) {
      const w = await region.api("/v1/watch-folders", {
        method: "POST",
        key: admin[tenant],
        json: { name, input: `store://${store}/inbox/`, output: `store://${store}/out/`, template },
      });
      if (w.status !== 201) throw new Error(`watch ${name}: ${w.status} ${JSON.stringify(w.body)}`);
      const t = await region.api(`/v1/watch-folders/${name}/notification-token`, { method: "POST", key: admin[tenant] });
      if (t.status !== 201) throw new Error(`token ${name}: ${t.status} ${JSON.stringify(t.body)}`);
      urls[name] = region.manager.urls.http + t.body.path;
    }
  }, 240_000);

  afterAll(async () => {
    await region?.cleanup();
    await Promise.all([azurite?.stop(), gcs?.stop(), swift?.stop(), sns?.stop()]);
    s3?.destroy();
    for (const v of Object.values(ENV)) delete process.env[v];
  });

  async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON answers
    return { status: res.status, body: parsed as any };
  }

  async function jobsOf(tenant: string, watch: string): Promise<{ id: string; input: string }[]> {
    const key = await region.key(tenant, "viewer");
    const r = await region.api("/v1/jobs", { key });
    const ids = r.body.jobs
      .filter((j: { labels?: Record<string, string> }) => j.labels?.["framefleet.watch"] === watch)
      .map((j: { id: string }) => j.id);
    const out = [];
    for (const id of ids) {
      const j = await region.api(`/v1/jobs/${id}`, { key });
      out.push({ id, input: j.body.composition.input.uri as string });
    }
    return out;
  }

  const blobCreated = (container: string, name: string, size: number) => ({
    topic: `/subscriptions/${randomUUID()}/resourceGroups/media/providers/Microsoft.Storage/storageAccounts/${azurite.account}`,
    subject: `/blobServices/default/containers/${container}/blobs/${name}`,
    eventType: "Microsoft.Storage.BlobCreated",
    eventTime: new Date().toISOString(),
    id: randomUUID(),
    data: {
      api: "PutBlockList",
      clientRequestId: randomUUID(),
      requestId: randomUUID(),
      eTag: "0x8D4BCC2E4835CD0",
      contentType: "video/mp4",
      contentLength: size,
      blobType: "BlockBlob",
      url: `${azurite.endpoint}/${container}/${name}`,
      sequencer: "00000000000004420000000000028963",
      storageDiagnostics: { batchId: randomUUID() },
    },
    dataVersion: "",
    metadataVersion: "1",
  });

  it("mints a notification URL only for operators of the folder's tenant", async () => {
    const viewer = await region.key("acme", "viewer");
    expect((await region.api("/v1/watch-folders/az-inbox/notification-token", { method: "POST", key: viewer })).status).toBe(403);
    const globex = await region.key("globex", "admin");
    // another tenant's folder of that name does not exist for globex
    expect((await region.api("/v1/watch-folders/az-inbox/notification-token", { method: "POST", key: globex })).status).toBe(404);
    expect(urls["az-inbox"]).toMatch(/\/v1\/notifications\/watch\/[0-9a-f]{32}\?token=[A-Za-z0-9_-]{43}$/);
  });

  it("Azure Event Grid: answers the validation handshake and starts exactly one job per blob", async () => {
    const validation = await post(
      urls["az-inbox"]!,
      [
        {
          id: randomUUID(),
          topic: "/subscriptions/x/resourceGroups/media/providers/Microsoft.Storage/storageAccounts/acme",
          subject: "",
          data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", validationUrl: "https://rp-eastus2.eventgrid.azure.net/x" },
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          eventTime: new Date().toISOString(),
          metadataVersion: "1",
          dataVersion: "1",
        },
      ],
      { "aeg-event-type": "SubscriptionValidation" },
    );
    expect(validation).toEqual({ status: 200, body: { validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" } });

    await az.write("inbox/arrival.mp4", randomBytes(2048));
    const ev = blobCreated("acme", "inbox/arrival.mp4", 2048);
    const headers = { "aeg-event-type": "Notification" };
    // the same event twice in a batch, then Event Grid's retry of the batch
    const first = await post(urls["az-inbox"]!, [ev, ev], headers);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.started).toHaveLength(1);
    expect(first.body.duplicates).toBe(1);
    expect((await post(urls["az-inbox"]!, [ev], headers)).body).toMatchObject({ started: [], duplicates: 1 });
    // the reconciliation poll finds the same object and starts nothing
    await region.manager.storageSweep();
    const jobs = await jobsOf("acme", "az-inbox");
    expect(jobs).toEqual([{ id: first.body.started[0], input: "store://azmedia/inbox/arrival.mp4" }]);

    // outside the folder, another container, a blob that does not exist: ignored, nothing started
    await az.write("elsewhere/b.mp4", randomBytes(100));
    const ignored = await post(
      urls["az-inbox"]!,
      [
        blobCreated("acme", "elsewhere/b.mp4", 100),
        blobCreated("globex", "inbox/arrival.mp4", 2048),
        blobCreated("acme", "inbox/none.mp4", 1),
      ],
      headers,
    );
    expect(ignored.body).toEqual({ started: [], duplicates: 0, ignored: 3 });
    expect(await jobsOf("acme", "az-inbox")).toHaveLength(1);
  });

  it("a polled object first, then its notification: still one job", async () => {
    await az.write("inbox/polled-first.mp4", randomBytes(512));
    await region.manager.storageSweep();
    const r = await post(urls["az-inbox"]!, [blobCreated("acme", "inbox/polled-first.mp4", 512)], { "aeg-event-type": "Notification" });
    expect(r.body).toMatchObject({ started: [], duplicates: 1 });
    expect((await jobsOf("acme", "az-inbox")).filter((j) => j.input.endsWith("polled-first.mp4"))).toHaveLength(1);
  });

  it("takes over a claim whose claimer died before recording its job, and still starts one job", async () => {
    await az.write("inbox/orphaned-claim.mp4", randomBytes(700));
    const info = (await az.list("inbox/orphaned-claim.mp4"))[0]!;
    // a replica claimed the object and died before inserting the job
    expect(await claimWatchObject(region.manager.db, "acme", "az-inbox", info.key, `${info.size}:${info.modified.getTime()}`)).toBe(true);
    const deps = {
      db: region.manager.db,
      resolverFor: (t: string) => region.manager.stores.resolver(t),
      storesFor: (t: string) => region.manager.stores.names(t),
      validateComposition: engineHooks.validateComposition,
      planJob: engineHooks.planJob,
    };
    // within the grace period the claim stands (another replica may still be inserting)
    expect((await pollWatchFolders(deps)).started).toEqual([]);
    expect((await jobsOf("acme", "az-inbox")).filter((j) => j.input.endsWith("orphaned-claim.mp4"))).toHaveLength(0);
    const taken = await pollWatchFolders({ ...deps, retakeAfterSeconds: 0 });
    expect(taken.started).toHaveLength(1);
    // once recorded, the claim is final however often it is retaken
    expect((await pollWatchFolders({ ...deps, retakeAfterSeconds: 0 })).started).toEqual([]);
    const r = await post(urls["az-inbox"]!, [blobCreated("acme", "inbox/orphaned-claim.mp4", 700)], { "aeg-event-type": "Notification" });
    expect(r.body).toMatchObject({ started: [], duplicates: 1 });
    expect((await jobsOf("acme", "az-inbox")).filter((j) => j.input.endsWith("orphaned-claim.mp4"))).toEqual([
      { id: taken.started[0], input: "store://azmedia/inbox/orphaned-claim.mp4" },
    ]);
  });

  it("refuses a wrong or missing token and keeps tenants apart", async () => {
    const acme = new URL(urls["az-inbox"]!);
    const globex = new URL(urls["g-inbox"]!);
    const ev = [blobCreated("acme", "inbox/arrival.mp4", 2048)];
    const wrong = new URL(acme);
    wrong.searchParams.set("token", randomBytes(32).toString("base64url"));
    expect((await post(wrong.href, ev)).status).toBe(401);
    const none = new URL(acme);
    none.search = "";
    expect((await post(none.href, ev)).status).toBe(401);
    // globex's token on acme's folder, and acme's token on globex's folder
    const swapped = new URL(acme);
    swapped.searchParams.set("token", globex.searchParams.get("token")!);
    expect((await post(swapped.href, ev)).status).toBe(401);
    // globex's own folder, told about acme's blob: acme's container is not globex's store
    const cross = await post(globex.href, ev, { "aeg-event-type": "Notification" });
    expect(cross.body).toEqual({ started: [], duplicates: 0, ignored: 1 });
    expect(await jobsOf("globex", "g-inbox")).toEqual([]);
    const unknown = new URL(acme);
    unknown.pathname = unknown.pathname.replace(/[0-9a-f]{32}$/, "0".repeat(32));
    expect((await post(unknown.href, ev)).status).toBe(401);
  });

  it("answers malformed payloads with a 400 naming the field, and starts nothing", async () => {
    const before = (await jobsOf("acme", "az-inbox")).length;
    const notJson = await post(urls["az-inbox"]!, "{not json", {});
    expect(notJson.status).toBe(400);
    const badType = await post(urls["az-inbox"]!, [{ eventType: 5, data: {} }], { "aeg-event-type": "Notification" });
    expect(badType.status).toBe(400);
    expect(badType.body.errors).toEqual([{ field: "/0/eventType", reason: "expected a non-empty string" }]);
    const badSubject = await post(urls["az-inbox"]!, [{ ...blobCreated("acme", "x", 1), subject: "/containers/acme/x" }], {
      "aeg-event-type": "Notification",
    });
    expect(badSubject.body.errors[0].field).toBe("/0/subject");
    const neither = await post(urls["az-inbox"]!, { hello: "world" });
    expect(neither.status).toBe(400);
    expect(neither.body.errors[0].reason).toMatch(/not an Event Grid, Pub\/Sub push or SNS delivery/);
    // a Pub/Sub body at an Azure folder
    const wrongCloud = await post(urls["az-inbox"]!, { message: { data: Buffer.from("{}").toString("base64") }, subscription: "s" });
    expect(wrongCloud.status).toBe(400);
    expect((await jobsOf("acme", "az-inbox")).length).toBe(before);
  });

  it("GCS through Pub/Sub push: one job per finalized object, other events acknowledged and ignored", async () => {
    await gs.write("inbox/gcs clip.mp4", randomBytes(4096));
    const resource = {
      kind: "storage#object",
      id: "acme-gcs/media/inbox/gcs clip.mp4/1",
      name: "media/inbox/gcs clip.mp4",
      bucket: "acme-gcs",
      generation: "1",
      size: "4096",
      contentType: "video/mp4",
      updated: new Date().toISOString(),
    };
    const push = (eventType: string, data: string = Buffer.from(JSON.stringify(resource)).toString("base64")) => ({
      message: {
        attributes: {
          bucketId: "acme-gcs",
          objectId: resource.name,
          eventType,
          notificationConfig: "projects/_/buckets/acme-gcs/notificationConfigs/1",
          payloadFormat: "JSON_API_V1",
          objectGeneration: "1",
          eventTime: new Date().toISOString(),
        },
        data,
        messageId: "2070443601311540",
        message_id: "2070443601311540",
        publishTime: new Date().toISOString(),
        publish_time: new Date().toISOString(),
      },
      subscription: "projects/acme/subscriptions/framefleet-watch",
    });
    const first = await post(urls["gcs-inbox"]!, push("OBJECT_FINALIZE"));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.started).toHaveLength(1);
    expect((await post(urls["gcs-inbox"]!, push("OBJECT_FINALIZE"))).body).toMatchObject({ started: [], duplicates: 1 });
    expect((await post(urls["gcs-inbox"]!, push("OBJECT_DELETE"))).body).toEqual({ started: [], duplicates: 0, ignored: 1 });
    const bad = await post(urls["gcs-inbox"]!, push("OBJECT_FINALIZE", "%%%"));
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe("/message/data");
    await region.manager.storageSweep();
    expect(await jobsOf("acme", "gcs-inbox")).toEqual([{ id: first.body.started[0], input: "store://gcsmedia/inbox/gcs clip.mp4" }]);
  });

  it("S3 through SNS: confirms the subscription, verifies signatures, one job per object", async () => {
    const topic = "arn:aws:sns:us-east-1:123456789012:framefleet-watch";
    const confirm = sns.sign({
      Type: "SubscriptionConfirmation",
      MessageId: randomUUID(),
      Token:
        "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
      TopicArn: topic,
      Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: `${sns.base}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topic)}&Token=2336412f37`,
      Timestamp: new Date().toISOString(),
    });
    const snsHeaders = (type: string) => ({ "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": type });
    const c = await post(urls["s3-inbox"]!, JSON.stringify(confirm), snsHeaders("SubscriptionConfirmation"));
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(sns.confirmed).toHaveLength(1);

    await s3.write("inbox/My Clip.mp4", randomBytes(3000));
    const record = {
      eventVersion: "2.1",
      eventSource: "aws:s3",
      awsRegion: "us-east-1",
      eventTime: new Date().toISOString(),
      eventName: "ObjectCreated:Put",
      userIdentity: { principalId: "AWS:AIDAEXAMPLE" },
      requestParameters: { sourceIPAddress: "203.0.113.7" },
      responseElements: {
        "x-amz-request-id": "C3D13FE58DE4C810",
        "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
      },
      s3: {
        s3SchemaVersion: "1.0",
        configurationId: "framefleet-watch",
        bucket: { name: "acme-s3", ownerIdentity: { principalId: "A3NL1KOZZKExample" }, arn: "arn:aws:s3:::acme-s3" },
        object: { key: "inbox/My+Clip.mp4", size: 3000, eTag: "d41d8cd98f00b204e9800998ecf8427e", sequencer: "0055AED6DCD90281E5" },
      },
    };
    const note = (records: unknown[], version: "1" | "2" = "1") =>
      sns.sign(
        {
          Type: "Notification",
          MessageId: randomUUID(),
          TopicArn: topic,
          Subject: "Amazon S3 Notification",
          Message: JSON.stringify({ Records: records }),
          Timestamp: new Date().toISOString(),
          UnsubscribeURL: `${sns.base}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(topic)}:1`,
        },
        version,
      );
    const first = await post(urls["s3-inbox"]!, JSON.stringify(note([record])), snsHeaders("Notification"));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.started).toHaveLength(1);
    // SNS delivers at least once: a redelivery (signature version 2 this time) starts nothing
    expect((await post(urls["s3-inbox"]!, JSON.stringify(note([record], "2")), snsHeaders("Notification"))).body).toMatchObject({
      started: [],
      duplicates: 1,
    });
    // a tampered message no longer verifies
    const tampered = {
      ...note([record]),
      Message: JSON.stringify({ Records: [{ ...record, s3: { ...record.s3, bucket: { name: "other" } } }] }),
    };
    const t = await post(urls["s3-inbox"]!, JSON.stringify(tampered), snsHeaders("Notification"));
    expect(t.status).toBe(400);
    expect(t.body.errors[0]).toEqual({ field: "/Signature", reason: "does not verify against the SNS signing certificate" });
    // a certificate from anywhere but SNS is not fetched
    const foreignCert = { ...note([record]), SigningCertURL: "http://203.0.113.9/cert.pem" };
    const f = await post(urls["s3-inbox"]!, JSON.stringify(foreignCert), snsHeaders("Notification"));
    expect(f.body.errors[0]).toEqual({ field: "/SigningCertURL", reason: "not an SNS certificate URL" });
    await region.manager.storageSweep();
    expect(await jobsOf("acme", "s3-inbox")).toEqual([{ id: first.body.started[0], input: "store://s3media/inbox/My Clip.mp4" }]);
  });
});
