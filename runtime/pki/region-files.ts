// The embedded default's CA: generated on first run, kept on disk, renewed on later runs.
//
// <dir>/root-ca.pem                 root certificate (what clients trust)
// <dir>/root-ca.key                 root key
// <dir>/<region>/intermediate-ca.pem intermediate + root
// <dir>/<region>/intermediate-ca.key
// <dir>/<region>/manager.pem        manager leaf + intermediate (what the manager presents)
// <dir>/<region>/manager.key
// Directories 0700, files 0600, every file replaced atomically (write + rename), and a lock
// file so two processes starting at once do not create two roots.

import { X509Certificate, createPrivateKey, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { createIntermediateCA, createRootCA, issueKeyAndCertificate, type CertificateAuthority } from "./ca.js";
import { pemCertificates, subjectAltNames, x509 } from "./der.js";
import { PkiError } from "./errors.js";
import { formatIdentity, parseIdentity } from "./identity.js";
import { needsRotation, verifyChain } from "./inspect.js";

/** The embedded default: on first run create root + intermediate for `region` under dir (files 0600, dir 0700), later runs load them; also (re)issue the manager's server cert (identity manager, dnsNames ["localhost", ...extraDnsNames], ipAddresses ["127.0.0.1", "::1"]) when missing or needing rotation. */
export interface RegionPki {
  root: CertificateAuthority;
  intermediate: CertificateAuthority;
  manager: { keyPem: string; certPem: string; chainPem: string };
  /** root cert PEM that clients trust */
  trustPem: string;
}

export const ROOT_VALIDITY_DAYS = 3650;
export const INTERMEDIATE_VALIDITY_DAYS = 365;
/** the manager's key sits beside the intermediate's, so a shorter life would buy nothing */
export const MANAGER_VALIDITY_SECONDS = 90 * 86_400;
/** renew in the last third of a certificate's life */
export const ROTATE_AT_REMAINING_FRACTION = 1 / 3;

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const LOCK_STALE_MS = 120_000;
const LOCK_WAIT_MS = 60_000;

function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: DIR_MODE });
  chmodSync(path, DIR_MODE);
}

function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", FILE_MODE);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, FILE_MODE);
  renameSync(tmp, path);
}

function readIfExists(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, FILE_MODE); // tighten what someone loosened
  return readFileSync(path, "utf8");
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock<T>(dir: string, fn: () => T): T {
  const lock = join(dir, ".lock");
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, "wx", FILE_MODE);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) unlinkSync(lock); // left by a crashed process
      } catch {
        // gone meanwhile: retry
      }
      if (Date.now() > deadline)
        throw new PkiError(`loadOrCreateRegionPki: ${lock} is held by another process (remove it if none is running)`);
      sleepSync(50);
    }
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already removed
    }
  }
}

function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(pemCertificates(certPem)[0]!).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function issuedBy(childPem: string, issuerPem: string): boolean {
  try {
    const child = x509(childPem);
    const issuer = x509(issuerPem);
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function sameSet(a: string[], b: string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function loadOrCreateRoot(dir: string, now: Date): CertificateAuthority {
  const certPath = join(dir, "root-ca.pem");
  const keyPath = join(dir, "root-ca.key");
  const certPem = readIfExists(certPath);
  const keyPem = readIfExists(keyPath);
  if (certPem === undefined && keyPem === undefined) {
    const root = createRootCA({ commonName: "framefleet root CA", validityDays: ROOT_VALIDITY_DAYS });
    writeFileAtomic(keyPath, root.keyPem);
    writeFileAtomic(certPath, root.certPem);
    return root;
  }
  // never replace a root silently: every certificate in the installation chains to it
  if (certPem === undefined || keyPem === undefined) {
    throw new PkiError(
      `root CA in ${dir} is incomplete (${certPem === undefined ? certPath : keyPath} is missing); restore it, or remove ${dir} to start a new installation`,
    );
  }
  if (!keyMatches(certPem, keyPem)) throw new PkiError(`root CA in ${dir}: ${keyPath} does not match ${certPath}`);
  if (!verifyChain(certPem, certPem, undefined, now))
    throw new PkiError(`root CA in ${dir} is expired or not yet valid; it must be replaced by an operator`);
  return { certPem, keyPem, chainPem: certPem };
}

function loadOrCreateIntermediate(
  regionDir: string,
  region: string,
  root: CertificateAuthority,
  now: Date,
): { ca: CertificateAuthority; fresh: boolean } {
  const certPath = join(regionDir, "intermediate-ca.pem");
  const keyPath = join(regionDir, "intermediate-ca.key");
  const chainPem = readIfExists(certPath);
  const keyPem = readIfExists(keyPath);
  if (chainPem !== undefined && keyPem !== undefined) {
    const certPem = pemCertificates(chainPem)[0];
    let usable = false;
    if (certPem) {
      try {
        const ids = subjectAltNames(x509(certPem).raw).uris;
        usable =
          ids.length === 1 &&
          ids[0] === formatIdentity({ kind: "ca", region }) &&
          keyMatches(certPem, keyPem) &&
          issuedBy(certPem, root.certPem) &&
          verifyChain(certPem, root.certPem, undefined, now) &&
          !needsRotation(certPem, now, ROTATE_AT_REMAINING_FRACTION);
      } catch {
        usable = false;
      }
    }
    // the chain file is rebuilt from the current root so it never carries a stale one
    if (usable && certPem) return { ca: { certPem, keyPem, chainPem: certPem + root.certPem }, fresh: false };
  }
  // missing, damaged, from another root or due for rotation: a new one costs nothing, since
  // peers trust the root and leaves of the old intermediate stay valid until they expire
  const ca = createIntermediateCA(root, { region, validityDays: INTERMEDIATE_VALIDITY_DAYS });
  writeFileAtomic(keyPath, ca.keyPem);
  writeFileAtomic(certPath, ca.chainPem);
  return { ca, fresh: true };
}

function loadOrIssueManager(
  regionDir: string,
  region: string,
  root: CertificateAuthority,
  intermediate: CertificateAuthority,
  forceNew: boolean,
  dnsNames: string[],
  now: Date,
): RegionPki["manager"] {
  const certPath = join(regionDir, "manager.pem");
  const keyPath = join(regionDir, "manager.key");
  const ipAddresses = ["127.0.0.1", "::1"];
  const chainPem = readIfExists(certPath);
  const keyPem = readIfExists(keyPath);
  if (!forceNew && chainPem !== undefined && keyPem !== undefined) {
    const certPem = pemCertificates(chainPem)[0];
    let usable = false;
    if (certPem) {
      try {
        const sans = subjectAltNames(x509(certPem).raw);
        const id = sans.uris.length === 1 ? parseIdentity(sans.uris[0]!) : undefined;
        usable =
          id?.kind === "manager" &&
          id.region === region &&
          sameSet(sans.dnsNames, dnsNames) &&
          sameSet(sans.ipAddresses, ["127.0.0.1", "0:0:0:0:0:0:0:1"]) &&
          keyMatches(certPem, keyPem) &&
          issuedBy(certPem, intermediate.certPem) &&
          verifyChain(certPem, root.certPem, intermediate.certPem, now) &&
          !needsRotation(certPem, now, ROTATE_AT_REMAINING_FRACTION);
      } catch {
        usable = false;
      }
    }
    if (usable && certPem) return { keyPem, certPem, chainPem: certPem + intermediate.certPem };
  }
  const issued = issueKeyAndCertificate(intermediate, {
    identity: { kind: "manager", region },
    validitySeconds: MANAGER_VALIDITY_SECONDS,
    server: { dnsNames, ipAddresses },
  });
  writeFileAtomic(keyPath, issued.keyPem);
  writeFileAtomic(certPath, issued.chainPem);
  return { keyPem: issued.keyPem, certPem: issued.certPem, chainPem: issued.chainPem };
}

/**
 * First run: creates the root, the region's intermediate and the manager's server cert under
 * `dir`. Later runs load them, replace the intermediate when it is in the last third of its
 * life (or damaged), and reissue the manager cert when it is, when the intermediate changed,
 * or when the requested DNS names differ. The root is never replaced automatically.
 * Synchronous: call it at start-up (and e.g. daily in a long-lived manager).
 */
export function loadOrCreateRegionPki(dir: string, region: string, opts?: { extraDnsNames?: string[] }): RegionPki {
  formatIdentity({ kind: "ca", region }); // validates the region before it becomes a directory name
  const dnsNames = [...new Set(["localhost", ...(opts?.extraDnsNames ?? []).map((d) => d.toLowerCase())])];
  ensureDir(dir);
  return withLock(dir, () => {
    const now = new Date();
    const root = loadOrCreateRoot(dir, now);
    const regionDir = join(dir, region);
    ensureDir(regionDir);
    const { ca: intermediate, fresh } = loadOrCreateIntermediate(regionDir, region, root, now);
    const manager = loadOrIssueManager(regionDir, region, root, intermediate, fresh, dnsNames, now);
    return { root, intermediate, manager, trustPem: root.certPem };
  });
}
