// Who a certificate speaks for. Identities travel in a certificate's URI SAN as
// framefleet://<region>/<kind>/..., and only the CA decides them (see ca.ts signCsr).

import { PkiError } from "./errors.js";

export type Identity =
  | { kind: "coordinator"; region: string; id: string }
  | { kind: "task"; region: string; taskId: string; attempt: number }
  | { kind: "manager"; region: string }
  | { kind: "ca"; region: string }; // an intermediate CA's own identity

export const IDENTITY_SCHEME = "framefleet://";

const REGION_RE = /^[a-z0-9-]{1,63}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
// canonical positive integer: no sign, no leading zeros, at most 9 digits (fits in int32)
const ATTEMPT_RE = /^[1-9][0-9]{0,8}$/;

function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

function checkRegion(region: unknown, where: string): string {
  if (typeof region !== "string" || !REGION_RE.test(region)) {
    throw new PkiError(`${where}: region ${describe(String(region))} must match [a-z0-9-]{1,63}`);
  }
  return region;
}

function checkId(id: unknown, what: string, where: string): string {
  if (typeof id !== "string" || !ID_RE.test(id)) {
    throw new PkiError(`${where}: ${what} ${describe(String(id))} must match [A-Za-z0-9_-]{1,64}`);
  }
  return id;
}

function checkAttempt(attempt: unknown, where: string): number {
  if (typeof attempt !== "number" || !Number.isSafeInteger(attempt) || attempt < 1 || attempt > 999_999_999) {
    throw new PkiError(`${where}: attempt ${String(attempt)} must be a positive integer`);
  }
  return attempt;
}

/** The URI of an identity. Throws PkiError on fields that would not parse back. */
export function formatIdentity(i: Identity): string {
  const where = "formatIdentity";
  const region = checkRegion(i.region, where);
  const base = `${IDENTITY_SCHEME}${region}`;
  switch (i.kind) {
    case "coordinator":
      return `${base}/coordinator/${checkId(i.id, "coordinator id", where)}`;
    case "task":
      return `${base}/task/${checkId(i.taskId, "task id", where)}/${checkAttempt(i.attempt, where)}`;
    case "manager":
      return `${base}/manager`;
    case "ca":
      return `${base}/ca`;
    default: {
      const kind: unknown = (i as { kind: unknown }).kind;
      throw new PkiError(`${where}: unknown identity kind ${describe(String(kind))}`);
    }
  }
}

/**
 * Parses framefleet://<region>/coordinator/<id>, .../task/<taskId>/<attempt>, .../manager or .../ca.
 * Strict: exact lower-case scheme, no query, fragment, percent-encoding, empty or dot segments,
 * trailing slash, or leading zeros, so every accepted URI is exactly formatIdentity of the result.
 */
export function parseIdentity(uri: string): Identity {
  const where = `invalid identity URI ${describe(String(uri))}`;
  if (typeof uri !== "string") throw new PkiError(`${where}: not a string`);
  if (!uri.startsWith(IDENTITY_SCHEME)) {
    throw new PkiError(`${where}: must start with ${IDENTITY_SCHEME}`);
  }
  if (uri.length > 256) throw new PkiError(`${where}: longer than 256 characters`);
  const parts = uri.slice(IDENTITY_SCHEME.length).split("/");
  const odd = parts.find((p) => p === "" || p === "." || p === "..");
  if (odd !== undefined) {
    throw new PkiError(
      `${where}: ${odd === "" ? "empty path segments (// or a trailing /) are" : `"${odd}" path segments are`} not allowed`,
    );
  }
  const [region, kind, ...rest] = parts;
  checkRegion(region, where);
  const arity = (n: number): void => {
    if (rest.length !== n) {
      throw new PkiError(`${where}: a ${kind} identity has ${n} path segment(s) after the kind, found ${rest.length}`);
    }
  };
  let identity: Identity;
  switch (kind) {
    case "coordinator":
      arity(1);
      identity = { kind, region: region!, id: checkId(rest[0], "coordinator id", where) };
      break;
    case "task": {
      arity(2);
      const taskId = checkId(rest[0], "task id", where);
      const attempt = rest[1]!;
      if (!ATTEMPT_RE.test(attempt)) {
        throw new PkiError(`${where}: attempt ${describe(attempt)} must be a positive integer without leading zeros`);
      }
      identity = { kind, region: region!, taskId, attempt: Number(attempt) };
      break;
    }
    case "manager":
    case "ca":
      arity(0);
      identity = { kind, region: region! };
      break;
    case undefined:
      throw new PkiError(`${where}: missing identity kind after the region`);
    default:
      throw new PkiError(`${where}: unknown identity kind ${describe(kind)} (expected coordinator, task, manager or ca)`);
  }
  // belt and braces: the grammar above should make this impossible
  if (formatIdentity(identity) !== uri) throw new PkiError(`${where}: not in canonical form`);
  return identity;
}

export function identitiesEqual(a: Identity, b: Identity): boolean {
  return formatIdentity(a) === formatIdentity(b);
}
