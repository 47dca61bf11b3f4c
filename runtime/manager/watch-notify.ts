// Watch folders fed by bucket notifications, as the clouds push them:
//
// - Azure Event Grid (Event Grid schema): an array of events; `Microsoft.Storage.BlobCreated`
//   names the blob in `subject` (/blobServices/default/containers/<c>/blobs/<path>) and
//   `data.url`; a `Microsoft.EventGrid.SubscriptionValidationEvent` is the handshake,
//   answered with its validation code.
// - GCS through a Pub/Sub push subscription: { message: { data: base64(object resource),
//   attributes: { eventType: "OBJECT_FINALIZE", bucketId, objectId } }, subscription }.
// - S3 through an SNS HTTP(S) subscription: SubscriptionConfirmation (the manager visits
//   SubscribeURL) and Notification envelopes whose Message is the S3 event JSON. Every
//   envelope's signature is verified against its signing certificate, fetched only from
//   a URL `snsUrlAllowed` accepts (by default https://sns.<region>.amazonaws.com/…).
//
// A notification is only a hint: the object is looked up in the store with the manager's
// own credentials, and its version (size and modification time, as listed) is claimed on
// the same path polling uses, so an object starts exactly one job however many
// notifications, retries and polls report it. Objects outside the folder's bucket or
// prefix, unsafe keys and keys that no longer exist are ignored, never read or written.
// Each folder has its own URL (an opaque id) and secret token (`?token=`, stored as
// SHA-256): the clouds all let a subscription's URL carry a query string.
import { createHash, createVerify, randomBytes, timingSafeEqual } from "node:crypto";
import type { CloudDefinition, StoreDefinition } from "../storage/definitions.js";
import { accountFromEndpoint } from "../storage/azure.js";
import { RESERVED_PREFIX, validateKey } from "../storage/keys.js";
import type { Store } from "../storage/store.js";
import { startWatchObject, type WatchStartDeps } from "./storage-sweep.js";
import { markWatchNotified, watchFolderByNotifyId, type WatchFolderRow } from "./store/index.js";

export class NotificationError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = "NotificationError";
  }
}

export function mintNotifyToken(): { id: string; secret: string; sha256: Buffer } {
  const secret = randomBytes(32).toString("base64url");
  return { id: randomBytes(16).toString("hex"), secret, sha256: createHash("sha256").update(secret).digest() };
}

/** An object a notification names: the bucket (container) and the full key in it, before the store's prefix is removed. */
export interface NotifiedObject {
  bucket: string;
  key: string;
  /** Azure: the storage account the event came from */
  account?: string;
}

export type ParsedNotification =
  | { kind: "reply"; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: "objects"; format: "eventgrid" | "pubsub" | "sns"; objects: NotifiedObject[]; ignored: number };

const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x);
const str = (x: unknown, field: string): string => {
  if (typeof x !== "string" || x === "") throw new NotificationError(field, "expected a non-empty string");
  return x;
};

// ---------------------------------------------------------------- Azure Event Grid

export function parseEventGrid(body: unknown): ParsedNotification {
  if (!Array.isArray(body)) throw new NotificationError("/", "an Event Grid delivery is an array of events");
  const objects: NotifiedObject[] = [];
  let ignored = 0;
  for (const [i, ev] of body.entries()) {
    if (!isObj(ev)) throw new NotificationError(`/${i}`, "expected an event object");
    const type = str(ev.eventType, `/${i}/eventType`);
    const data = ev.data;
    if (!isObj(data)) throw new NotificationError(`/${i}/data`, "expected an object");
    if (type === "Microsoft.EventGrid.SubscriptionValidationEvent")
      return { kind: "reply", status: 200, body: { validationResponse: str(data.validationCode, `/${i}/data/validationCode`) } };
    if (type !== "Microsoft.Storage.BlobCreated") {
      ignored++;
      continue;
    }
    const subject = str(ev.subject, `/${i}/subject`);
    const m = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/.exec(subject);
    if (!m) throw new NotificationError(`/${i}/subject`, "expected /blobServices/default/containers/<container>/blobs/<name>");
    let account: string | undefined;
    if (data.url !== undefined) {
      try {
        account = accountFromEndpoint(str(data.url, `/${i}/data/url`));
      } catch {
        throw new NotificationError(`/${i}/data/url`, "not a URL");
      }
    }
    objects.push({ bucket: m[1]!, key: m[2]!, account });
  }
  return { kind: "objects", format: "eventgrid", objects, ignored };
}

// ---------------------------------------------------------------- GCS via Pub/Sub push

export function parsePubSubPush(body: unknown): ParsedNotification {
  if (!isObj(body) || !isObj(body.message)) throw new NotificationError("/message", "a Pub/Sub push body has a message object");
  const msg = body.message;
  const attrs = isObj(msg.attributes) ? msg.attributes : {};
  // GCS also publishes deletes, archives and metadata updates on the same topic
  if (attrs.eventType !== undefined && attrs.eventType !== "OBJECT_FINALIZE")
    return { kind: "objects", format: "pubsub", objects: [], ignored: 1 };
  const raw = str(msg.data, "/message/data");
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(raw)) throw new NotificationError("/message/data", "not base64");
  let resource: unknown;
  try {
    resource = JSON.parse(Buffer.from(raw, "base64").toString("utf8"));
  } catch {
    throw new NotificationError("/message/data", "does not decode to the JSON object resource");
  }
  if (!isObj(resource)) throw new NotificationError("/message/data", "does not decode to the JSON object resource");
  const bucket = str(resource.bucket ?? attrs.bucketId, "/message/data/bucket");
  const key = str(resource.name ?? attrs.objectId, "/message/data/name");
  return { kind: "objects", format: "pubsub", objects: [{ bucket, key }], ignored: 0 };
}

// ---------------------------------------------------------------- S3 via SNS

export interface SnsOptions {
  /** whether a SigningCertURL or SubscribeURL may be fetched (default: https on sns.<region>.amazonaws.com) */
  urlAllowed?(url: string): boolean;
  fetch?: typeof fetch;
}

export function defaultSnsUrlAllowed(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "https:" && /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(u.hostname) && u.port === "";
  } catch {
    return false;
  }
}

/** The string SNS signs, per its documentation: the envelope's fields in this order, each `name\nvalue\n`. */
export function snsStringToSign(m: Record<string, unknown>): string {
  const fields =
    m.Type === "Notification"
      ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  return fields
    .filter((f) => m[f] !== undefined && m[f] !== null)
    .map((f) => `${f}\n${String(m[f])}\n`)
    .join("");
}

const certCache = new Map<string, string>();

async function verifySns(m: Record<string, unknown>, opts: SnsOptions): Promise<void> {
  const allowed = opts.urlAllowed ?? defaultSnsUrlAllowed;
  const certUrl = str(m.SigningCertURL, "/SigningCertURL");
  if (!allowed(certUrl)) throw new NotificationError("/SigningCertURL", "not an SNS certificate URL");
  const version = m.SignatureVersion;
  if (version !== "1" && version !== "2") throw new NotificationError("/SignatureVersion", "expected 1 or 2");
  const signature = str(m.Signature, "/Signature");
  let pem = certCache.get(certUrl);
  if (!pem) {
    const res = await (opts.fetch ?? fetch)(certUrl, { redirect: "error", signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`fetching the SNS signing certificate answered ${res.status}`);
    pem = await res.text();
    if (!pem.includes("BEGIN CERTIFICATE")) throw new Error("the SNS signing certificate URL did not answer a PEM certificate");
    certCache.set(certUrl, pem);
  }
  const ok = createVerify(version === "2" ? "RSA-SHA256" : "RSA-SHA1")
    .update(snsStringToSign(m))
    .verify(pem, signature, "base64");
  if (!ok) throw new NotificationError("/Signature", "does not verify against the SNS signing certificate");
}

export async function parseSns(body: unknown, messageType: string | undefined, opts: SnsOptions = {}): Promise<ParsedNotification> {
  if (!isObj(body)) throw new NotificationError("/", "an SNS message is a JSON object");
  const type = str(body.Type, "/Type");
  if (messageType !== undefined && messageType !== type)
    throw new NotificationError("/Type", "does not match the x-amz-sns-message-type header");
  if (!["SubscriptionConfirmation", "Notification", "UnsubscribeConfirmation"].includes(type))
    throw new NotificationError("/Type", "expected SubscriptionConfirmation, Notification or UnsubscribeConfirmation");
  await verifySns(body, opts);
  if (type === "SubscriptionConfirmation") {
    const url = str(body.SubscribeURL, "/SubscribeURL");
    if (!(opts.urlAllowed ?? defaultSnsUrlAllowed)(url)) throw new NotificationError("/SubscribeURL", "not an SNS URL");
    const res = await (opts.fetch ?? fetch)(url, { redirect: "error", signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`confirming the SNS subscription answered ${res.status}`);
    return { kind: "reply", status: 200, body: { confirmed: true } };
  }
  if (type === "UnsubscribeConfirmation") return { kind: "objects", format: "sns", objects: [], ignored: 1 };
  let event: unknown;
  try {
    event = JSON.parse(str(body.Message, "/Message"));
  } catch (e) {
    if (e instanceof NotificationError) throw e;
    throw new NotificationError("/Message", "is not the S3 event JSON");
  }
  if (!isObj(event)) throw new NotificationError("/Message", "is not the S3 event JSON");
  if (event.Event === "s3:TestEvent") return { kind: "objects", format: "sns", objects: [], ignored: 1 };
  if (!Array.isArray(event.Records)) throw new NotificationError("/Message/Records", "expected an array of S3 event records");
  const objects: NotifiedObject[] = [];
  let ignored = 0;
  for (const [i, r] of event.Records.entries()) {
    if (!isObj(r) || !isObj(r.s3)) throw new NotificationError(`/Message/Records/${i}/s3`, "expected an object");
    if (typeof r.eventName !== "string" || !r.eventName.startsWith("ObjectCreated:")) {
      ignored++;
      continue;
    }
    const s3 = r.s3;
    const bucket = str(isObj(s3.bucket) ? s3.bucket.name : undefined, `/Message/Records/${i}/s3/bucket/name`);
    const encoded = str(isObj(s3.object) ? s3.object.key : undefined, `/Message/Records/${i}/s3/object/key`);
    let key: string;
    try {
      // S3 event keys are URL-encoded with '+' for spaces
      key = decodeURIComponent(encoded.replace(/\+/g, " "));
    } catch {
      throw new NotificationError(`/Message/Records/${i}/s3/object/key`, "is not URL-encoded");
    }
    objects.push({ bucket, key });
  }
  return { kind: "objects", format: "sns", objects, ignored };
}

// ---------------------------------------------------------------- the endpoint's logic

export interface NotifyDeps extends WatchStartDeps {
  definitionsFor(tenant: string): Promise<Record<string, StoreDefinition>>;
  sns?: SnsOptions;
}

export interface NotifyOutcome {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Whose folder a URL names and whether its token is right: undefined for either failure (they are not told apart). */
export async function authenticateNotification(deps: { db: WatchStartDeps["db"] }, notifyId: string, token: string | undefined) {
  if (!/^[0-9a-f]{32}$/.test(notifyId) || !token) return undefined;
  const w = await watchFolderByNotifyId(deps.db, notifyId);
  if (!w) return undefined;
  const got = createHash("sha256").update(token).digest();
  return timingSafeEqual(got, w.secretSha256) ? w : undefined;
}

/** Which cloud format a request is, by its headers and body shape. */
export function notificationFormat(headers: Record<string, string | string[] | undefined>, body: unknown): "eventgrid" | "pubsub" | "sns" {
  if (headers["x-amz-sns-message-type"] !== undefined) return "sns";
  if (headers["aeg-event-type"] !== undefined || Array.isArray(body)) return "eventgrid";
  if (isObj(body) && isObj(body.message)) return "pubsub";
  if (isObj(body) && typeof body.Type === "string" && typeof body.Signature === "string") return "sns";
  throw new NotificationError("/", "not an Event Grid, Pub/Sub push or SNS delivery");
}

export async function handleNotification(
  deps: NotifyDeps,
  w: WatchFolderRow,
  headers: Record<string, string | string[] | undefined>,
  body: unknown,
): Promise<NotifyOutcome> {
  const format = notificationFormat(headers, body);
  const parsed =
    format === "eventgrid"
      ? parseEventGrid(body)
      : format === "pubsub"
        ? parsePubSubPush(body)
        : await parseSns(body, headers["x-amz-sns-message-type"] as string | undefined, deps.sns);
  if (parsed.kind === "reply") return parsed;
  const defs = await deps.definitionsFor(w.tenant);
  const def = Object.prototype.hasOwnProperty.call(defs, w.store) ? defs[w.store] : undefined;
  if (!def || def.kind === "fs" || def.kind === "presigned")
    throw new NotificationError("/", `watch folder ${w.name} is on store ${w.store}, which has no bucket notifications`);
  const cloud = def as CloudDefinition;
  const expected = { eventgrid: "azure", pubsub: "gcs", sns: "s3" }[parsed.format];
  if (cloud.kind !== expected) throw new NotificationError("/", `a ${parsed.format} delivery for a watch folder on a ${cloud.kind} store`);
  const account = cloud.kind === "azure" && cloud.endpoint ? accountFromEndpoint(cloud.endpoint) : undefined;
  const storePrefix = cloud.prefix ? (cloud.prefix.endsWith("/") ? cloud.prefix : cloud.prefix + "/") : "";
  const store: Store = (await deps.resolverFor(w.tenant))(w.store);
  const started: string[] = [];
  let duplicates = 0;
  let ignored = parsed.ignored;
  for (const o of parsed.objects) {
    const outside =
      o.bucket !== cloud.bucket ||
      (account !== undefined && o.account !== undefined && o.account !== account) ||
      !o.key.startsWith(storePrefix);
    const key = o.key.slice(storePrefix.length);
    if (outside || !key.startsWith(w.prefix) || key.startsWith(RESERVED_PREFIX + "/")) {
      ignored++;
      continue;
    }
    try {
      validateKey(key);
    } catch {
      ignored++;
      continue;
    }
    // the listing is what polling reads, so both compute the same version for the object
    const info = (await store.list(key)).find((x) => x.key === key);
    if (!info || info.size === 0) {
      ignored++;
      continue;
    }
    const r = await startWatchObject(deps, w, info);
    if (r.started) started.push(r.started);
    else duplicates++;
  }
  await markWatchNotified(deps.db, w.tenant, w.name);
  return { status: 200, body: { started, duplicates, ignored } };
}
