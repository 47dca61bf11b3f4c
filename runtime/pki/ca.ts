// The certificate authority: one root per installation, one intermediate per region,
// short-lived leaves whose identity (a framefleet:// URI SAN) the CA alone decides.
//
// node-forge builds the certificates and CSRs (node has no API to create X.509); node's
// crypto (OpenSSL) does every private-key operation: key generation (forge's JS prime
// search takes seconds), signing (forge's JS RSA takes ~100 ms per signature, OpenSSL ~2 ms,
// which matters when the manager issues a certificate per task attempt) and CSR checks.

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";
import forge from "node-forge";
import { PkiError } from "./errors.js";
import { formatIdentity, parseIdentity, type Identity } from "./identity.js";
import { normalizePem, normalizeSerial, pemCertificates, subjectAltNames, x509 } from "./der.js";

export { PkiError } from "./errors.js";

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  /** this cert then its issuers up to (incl.) the root */
  chainPem: string;
}

export interface IssueOptions {
  identity: Identity;
  validitySeconds: number;
  /** also usable as a TLS server cert */
  server?: { dnsNames?: string[]; ipAddresses?: string[] };
  notBefore?: Date;
}

export interface IssuedCertificate {
  certPem: string;
  /** leaf + issuing CA chain, what a TLS peer should present */
  chainPem: string;
  serial: string;
  notAfter: Date;
}

export const LEAF_KEY_BITS = 2048;
export const INTERMEDIATE_KEY_BITS = 2048;
/** the root outlives 2030, NIST's horizon for 2048-bit RSA; it is generated once */
export const ROOT_KEY_BITS = 3072;
/** leaves are backdated this much unless notBefore is given, for clock skew between hosts */
export const CLOCK_SKEW_SECONDS = 60;
const MIN_CSR_KEY_BITS = 2048;
const MAX_CN_LENGTH = 64; // ub-common-name (RFC 5280)
const ORGANIZATION = "framefleet";

const SIGNATURE_HASHES: Record<string, string> = {
  "1.2.840.113549.1.1.11": "sha256", // sha256WithRSAEncryption
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
};

// ---------- keys ----------

interface PemKeyPair {
  publicKey: string;
  privateKey: string;
}

function newRsaKey(bits: number): PemKeyPair {
  return generateKeyPairSync("rsa", {
    modulusLength: bits,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

const generateKeyPairAsync = promisify(generateKeyPair);

function privateKey(keyPem: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new PkiError(`${what}: not an unencrypted private key in PEM (${(err as Error).message})`, { cause: err });
  }
  if (key.asymmetricKeyType !== "rsa") throw new PkiError(`${what}: an RSA key is required, got ${String(key.asymmetricKeyType)}`);
  return key;
}

// forge's own builders of the to-be-signed parts (public in forge, missing from its typings)
const forgeInternals = forge.pki as unknown as {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
  getCertificationRequestInfo(csr: forge.pki.CertificateSigningRequest): forge.asn1.Asn1;
};

function derOf(obj: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(obj).getBytes(), "binary");
}

/** forge's cert.sign(key, sha256), with the RSA operation done by OpenSSL. */
function signCertificate(cert: forge.pki.Certificate, key: KeyObject): void {
  cert.md = forge.md.sha256.create();
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.tbsCertificate = forgeInternals.getTBSCertificate(cert); // cached: certificateToPem writes these bytes
  cert.signature = cryptoSign("sha256", derOf(cert.tbsCertificate), key).toString("binary");
}

/** forge's csr.sign(key, sha256), with the RSA operation done by OpenSSL. */
function signRequest(csr: forge.pki.CertificateSigningRequest, key: KeyObject): void {
  const mutable = csr as unknown as {
    md: forge.md.MessageDigest;
    signatureOid: string;
    siginfo: { algorithmOid: string };
    certificationRequestInfo: forge.asn1.Asn1;
    signature: string;
  };
  mutable.md = forge.md.sha256.create();
  mutable.signatureOid = mutable.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  mutable.certificationRequestInfo = forgeInternals.getCertificationRequestInfo(csr);
  mutable.signature = cryptoSign("sha256", derOf(mutable.certificationRequestInfo), key).toString("binary");
}

function csrFromKeys(keys: PemKeyPair, commonName: string): { keyPem: string; csrPem: string } {
  if (typeof commonName !== "string" || commonName.length === 0 || commonName.length > MAX_CN_LENGTH) {
    throw new PkiError(`generateKeyAndCsr: commonName must be 1..${MAX_CN_LENGTH} characters`);
  }
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  csr.setSubject([{ name: "commonName", value: commonName }]);
  signRequest(csr, privateKey(keys.privateKey, "generateKeyAndCsr"));
  return { keyPem: normalizePem(keys.privateKey), csrPem: normalizePem(forge.pki.certificationRequestToPem(csr)) };
}

/** A fresh RSA-2048 key (PKCS#8 PEM) and a CSR for it; the key never leaves the caller. Blocks for one key generation (typically 50-300 ms). */
export function generateKeyAndCsr(opts: { commonName: string }): { keyPem: string; csrPem: string } {
  return csrFromKeys(newRsaKey(LEAF_KEY_BITS), opts.commonName);
}

/** generateKeyAndCsr without blocking the event loop: the key is generated on libuv's thread pool. */
export async function generateKeyAndCsrAsync(opts: { commonName: string }): Promise<{ keyPem: string; csrPem: string }> {
  const keys: PemKeyPair = await generateKeyPairAsync("rsa", {
    modulusLength: LEAF_KEY_BITS,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return csrFromKeys(keys, opts.commonName);
}

// ---------- building certificates ----------

/** 16 random bytes with the top bit set, as an unsigned DER INTEGER: a positive 128-bit serial. */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! | 0x80;
  return `00${bytes.toString("hex")}`;
}

/** X.509 times have whole seconds; round down so the Date we report is the one in the certificate. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function checkPositive(value: number, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new PkiError(`${what} must be a positive number, got ${String(value)}`);
  }
}

interface ParsedCa {
  cert: forge.pki.Certificate;
  key: KeyObject;
  /** authorityKeyIdentifier for what this CA signs: its own subjectKeyIdentifier */
  keyId: string;
  notAfter: Date;
  /** region of an intermediate (from its framefleet://<region>/ca SAN); undefined for the root */
  region: string | undefined;
  isRoot: boolean;
}

function parseCa(ca: CertificateAuthority, what: string): ParsedCa {
  if (!ca || typeof ca.certPem !== "string" || typeof ca.keyPem !== "string")
    throw new PkiError(`${what}: certPem and keyPem are required`);
  const node = x509(ca.certPem, what);
  if (!node.ca) throw new PkiError(`${what}: certificate is not a CA (basicConstraints cA is not set)`);
  const key = privateKey(ca.keyPem, what);
  if (!node.checkPrivateKey(key)) throw new PkiError(`${what}: keyPem does not match certPem`);
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(pemCertificates(ca.certPem)[0]!);
  } catch (err) {
    throw new PkiError(`${what}: ${(err as Error).message}`, { cause: err });
  }
  const skiExt = cert.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier?: string } | undefined;
  const keyId = skiExt?.subjectKeyIdentifier
    ? forge.util.hexToBytes(skiExt.subjectKeyIdentifier)
    : cert.generateSubjectKeyIdentifier().getBytes();
  const caUris = subjectAltNames(node.raw).uris.filter((u) => u.startsWith("framefleet:"));
  let region: string | undefined;
  if (caUris.length === 1) {
    const id = parseIdentity(caUris[0]!);
    if (id.kind !== "ca") throw new PkiError(`${what}: CA certificate carries a ${id.kind} identity`);
    region = id.region;
  } else if (caUris.length > 1) {
    throw new PkiError(`${what}: CA certificate carries several framefleet identities`);
  }
  return { cert, key, keyId, notAfter: cert.validity.notAfter, region, isRoot: node.checkIssued(node) && node.verify(node.publicKey) };
}

function caSubject(commonName: string): forge.pki.CertificateField[] {
  return [
    { name: "organizationName", value: ORGANIZATION },
    { name: "commonName", value: commonName },
  ];
}

function toPem(cert: forge.pki.Certificate): string {
  return normalizePem(forge.pki.certificateToPem(cert));
}

/** A chain without its self-signed root: what a TLS peer presents (the other side has the root). */
function chainBelowRoot(chainPem: string): string {
  return pemCertificates(chainPem)
    .filter((pem) => {
      const c = x509(pem);
      return !(c.checkIssued(c) && c.verify(c.publicKey));
    })
    .join("");
}

function ipBytes(ip: string): string {
  const family = isIP(ip);
  if (family === 4) return String.fromCharCode(...ip.split(".").map(Number));
  if (family === 6) {
    let text = ip.toLowerCase();
    if (text.includes("%")) throw new PkiError(`IP address ${JSON.stringify(ip)}: zone ids are not allowed`);
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
      const b = v4[1]!.split(".").map(Number);
      text = `${text.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
    }
    const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
    if (groups.length !== 8) throw new PkiError(`IP address ${JSON.stringify(ip)} is not valid`);
    return groups
      .map((g) => {
        const n = parseInt(g, 16);
        return String.fromCharCode(n >> 8, n & 0xff);
      })
      .join("");
  }
  throw new PkiError(`IP address ${JSON.stringify(ip)} is not a valid IPv4 or IPv6 address`);
}

const DNS_NAME_RE = /^(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

// ---------- CAs ----------

/** A self-signed root (RSA-3072, default 10 years). Its key signs only intermediates. */
export function createRootCA(opts: { commonName: string; validityDays?: number }): CertificateAuthority {
  const days = opts.validityDays ?? 3650;
  checkPositive(days, "createRootCA: validityDays");
  if (!opts.commonName || opts.commonName.length > MAX_CN_LENGTH)
    throw new PkiError(`createRootCA: commonName must be 1..${MAX_CN_LENGTH} characters`);
  const keys = newRsaKey(ROOT_KEY_BITS);
  const key = privateKey(keys.privateKey, "createRootCA");
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = randomSerialHex();
  const now = Date.now();
  cert.validity.notBefore = wholeSeconds(now - CLOCK_SKEW_SECONDS * 1000);
  cert.validity.notAfter = wholeSeconds(now + days * 86_400_000);
  const subject = caSubject(opts.commonName);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    // pathLen 1: root -> regional intermediate -> leaf, nothing deeper
    { name: "basicConstraints", critical: true, cA: true, pathLenConstraint: 1 },
    { name: "keyUsage", critical: true, keyCertSign: true, cRLSign: true },
    { name: "subjectKeyIdentifier" },
  ]);
  signCertificate(cert, key);
  const certPem = toPem(cert);
  return { certPem, keyPem: normalizePem(keys.privateKey), chainPem: certPem };
}

/**
 * A regional intermediate (RSA-2048, default 1 year, never past the root): cA with pathLen 0,
 * keyCertSign+cRLSign, URI SAN framefleet://<region>/ca, and a critical nameConstraints that
 * permits only URIs whose host is <region>, so even a leaked regional key cannot mint
 * identities of another region (OpenSSL enforces this in every handshake).
 */
export function createIntermediateCA(root: CertificateAuthority, opts: { region: string; validityDays?: number }): CertificateAuthority {
  const days = opts.validityDays ?? 365;
  checkPositive(days, "createIntermediateCA: validityDays");
  const caUri = formatIdentity({ kind: "ca", region: opts.region }); // validates the region
  const issuer = parseCa(root, "createIntermediateCA: root");
  if (!issuer.isRoot) throw new PkiError("createIntermediateCA: the issuer must be the self-signed root");
  const keys = newRsaKey(INTERMEDIATE_KEY_BITS);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = randomSerialHex();
  const now = Date.now();
  cert.validity.notBefore = wholeSeconds(now - CLOCK_SKEW_SECONDS * 1000);
  cert.validity.notAfter = wholeSeconds(Math.min(now + days * 86_400_000, issuer.notAfter.getTime()));
  cert.setSubject(caSubject(`framefleet ${opts.region} intermediate CA`));
  cert.setIssuer(issuer.cert.subject.attributes);
  const { asn1 } = forge;
  const nameConstraints = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    // permittedSubtrees [0] { GeneralSubtree { base uniformResourceIdentifier [6] "<region>" } }
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, opts.region)]),
    ]),
  ]);
  cert.setExtensions([
    { name: "basicConstraints", critical: true, cA: true, pathLenConstraint: 0 },
    { name: "keyUsage", critical: true, keyCertSign: true, cRLSign: true },
    { name: "subjectAltName", altNames: [{ type: 6, value: caUri }] },
    { id: "2.5.29.30", name: "nameConstraints", critical: true, value: nameConstraints },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: issuer.keyId },
  ]);
  signCertificate(cert, issuer.key);
  const certPem = toPem(cert);
  return { certPem, keyPem: normalizePem(keys.privateKey), chainPem: certPem + pemCertificates(root.chainPem || root.certPem).join("") };
}

// ---------- leaves ----------

function verifiedCsrPublicKey(csrPem: string): forge.pki.PublicKey {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new PkiError(`signCsr: not a parsable RSA PKCS#10 CSR (${(err as Error).message})`, { cause: err });
  }
  const hash = SIGNATURE_HASHES[csr.signatureOid ?? ""];
  if (!hash)
    throw new PkiError(`signCsr: CSR signature algorithm ${String(csr.signatureOid)} is not accepted (RSA with SHA-256/384/512 only)`);
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!publicKey) throw new PkiError("signCsr: CSR has no public key");
  if (publicKey.n.bitLength() < MIN_CSR_KEY_BITS)
    throw new PkiError(`signCsr: CSR key is ${publicKey.n.bitLength()} bits, at least ${MIN_CSR_KEY_BITS} required`);
  // proof of possession, checked by OpenSSL over the exact signed bytes
  const info = (csr as unknown as { certificationRequestInfo?: forge.asn1.Asn1 }).certificationRequestInfo;
  if (!info || typeof csr.signature !== "string") throw new PkiError("signCsr: CSR is missing its signed part");
  const tbs = Buffer.from(forge.asn1.toDer(info).getBytes(), "binary");
  const signature = Buffer.from(csr.signature, "binary");
  let ok = false;
  try {
    const key = createPublicKey(forge.pki.publicKeyToPem(publicKey));
    ok = cryptoVerify(hash, tbs, key, signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new PkiError("signCsr: CSR signature does not verify (no proof of possession of the private key)");
  return publicKey;
}

function buildLeaf(ca: CertificateAuthority, publicKey: forge.pki.PublicKey, opts: IssueOptions): IssuedCertificate {
  checkPositive(opts.validitySeconds, "validitySeconds");
  const uri = formatIdentity(opts.identity); // validates the identity
  if (opts.identity.kind === "ca") throw new PkiError("signCsr: a leaf certificate cannot carry a ca identity");
  const issuer = parseCa(ca, "signCsr: CA");
  if (issuer.region === undefined) throw new PkiError("signCsr: leaves are issued by a regional intermediate, not by the root");
  if (issuer.region !== opts.identity.region) {
    throw new PkiError(`signCsr: the ${issuer.region} intermediate cannot issue an identity in region ${opts.identity.region}`);
  }
  if (opts.notBefore !== undefined && !(opts.notBefore instanceof Date && Number.isFinite(opts.notBefore.getTime()))) {
    throw new PkiError("signCsr: notBefore must be a valid Date");
  }
  const now = Date.now();
  const start = opts.notBefore?.getTime() ?? now;
  const notBefore = wholeSeconds(opts.notBefore ? start : now - CLOCK_SKEW_SECONDS * 1000);
  // never outlive the issuer: a chain is only as valid as its shortest-lived member
  const notAfter = wholeSeconds(Math.min(start + opts.validitySeconds * 1000, issuer.notAfter.getTime()));
  if (notAfter.getTime() <= notBefore.getTime())
    throw new PkiError("signCsr: the certificate would expire before it becomes valid (issuer expires too soon?)");

  const altNames: { type: number; value: string }[] = [{ type: 6, value: uri }];
  const server = opts.server;
  if (server) {
    for (const dns of server.dnsNames ?? []) {
      if (!DNS_NAME_RE.test(dns)) throw new PkiError(`signCsr: DNS name ${JSON.stringify(dns)} is not valid`);
      altNames.push({ type: 2, value: dns.toLowerCase() });
    }
    for (const ip of server.ipAddresses ?? []) altNames.push({ type: 7, value: ipBytes(ip) });
  }

  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: "commonName", value: uri.slice(0, MAX_CN_LENGTH) }]);
  cert.setIssuer(issuer.cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", critical: true, cA: false },
    { name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: true },
    { name: "extKeyUsage", clientAuth: true, ...(server ? { serverAuth: true } : {}) },
    // critical when the subject DN carries no name of its own is what RFC 5280 asks; our
    // subject has the CN, so keep it non-critical for the widest compatibility
    { name: "subjectAltName", altNames },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: issuer.keyId },
  ]);
  signCertificate(cert, issuer.key);
  const certPem = toPem(cert);
  return {
    certPem,
    chainPem: certPem + chainBelowRoot(ca.chainPem || ca.certPem),
    serial: normalizeSerial(cert.serialNumber),
    notAfter,
  };
}

/**
 * Issues a leaf for the key in a CSR. Verifies the CSR's self-signature, then ignores
 * everything else the CSR asks for (subject, extensions, SANs): the identity, validity and
 * usages come from opts alone. clientAuth always; serverAuth (with DNS/IP SANs) when
 * opts.server. Subject CN is the identity URI (truncated to 64 characters).
 */
export function signCsr(ca: CertificateAuthority, csrPem: string, opts: IssueOptions): IssuedCertificate {
  if (typeof csrPem !== "string") throw new PkiError("signCsr: csrPem must be a string");
  return buildLeaf(ca, verifiedCsrPublicKey(csrPem), opts);
}

/** Generates a key here and issues a leaf for it: for the manager's own server cert, and for tests. */
export function issueKeyAndCertificate(ca: CertificateAuthority, opts: IssueOptions): IssuedCertificate & { keyPem: string } {
  const keys = newRsaKey(LEAF_KEY_BITS);
  const issued = buildLeaf(ca, forge.pki.publicKeyFromPem(keys.publicKey), opts);
  return { ...issued, keyPem: normalizePem(keys.privateKey) };
}
