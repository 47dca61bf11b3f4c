// The certificate authority: one root per installation, one intermediate per region,
// short-lived leaves whose identity (a framefleet:// URI SAN) the CA alone decides.
//
// node-forge builds the certificates (node has no API to create X.509); node's crypto
// (OpenSSL) does every private-key operation: key generation (forge's JS prime search takes
// seconds), signing (forge's JS RSA takes ~100 ms per signature, OpenSSL ~2 ms, which matters
// when the manager issues a certificate per task attempt) and CSR checks.
//
// Keys: the CAs are RSA (root 3072, intermediates 2048, signing sha256WithRSAEncryption);
// leaves default to ECDSA P-256, whose key generation costs ~0.05 ms of CPU against
// 100-200 ms for RSA-2048 (a coordinator makes one per task attempt, beside ffmpeg). forge
// only understands RSA public keys, so keys are handled at the ASN.1 level: CSRs are built
// and parsed here as DER, and every certificate is built by forge around a stand-in RSA key
// whose SubjectPublicKeyInfo is replaced by the real one (RSA or EC) before signing.

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  type KeyPairKeyObjectResult,
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

/** "ec": ECDSA P-256 (the default); "rsa": RSA-2048 */
export type LeafKeyType = "ec" | "rsa";
export const LEAF_KEY_TYPE: LeafKeyType = "ec";
/** the curve of "ec" leaf keys (OpenSSL's name for P-256) */
export const LEAF_EC_CURVE = "prime256v1";
/** the size of "rsa" leaf keys */
export const LEAF_KEY_BITS = 2048;
export const INTERMEDIATE_KEY_BITS = 2048;
/** the root outlives 2030, NIST's horizon for 2048-bit RSA; it is generated once */
export const ROOT_KEY_BITS = 3072;
/** leaves are backdated this much unless notBefore is given, for clock skew between hosts */
export const CLOCK_SKEW_SECONDS = 60;
const MIN_CSR_KEY_BITS = 2048;
/** EC curves a CSR key may use, by OpenSSL name */
const CSR_CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384" };
const MAX_CN_LENGTH = 64; // ub-common-name (RFC 5280)
const ORGANIZATION = "framefleet";

const OID_SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
const OID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const RSA_SIGNATURE_HASHES: Record<string, string> = {
  [OID_SHA256_WITH_RSA]: "sha256",
  "1.2.840.113549.1.1.12": "sha384", // sha384WithRSAEncryption
  "1.2.840.113549.1.1.13": "sha512", // sha512WithRSAEncryption
};
const ECDSA_SIGNATURE_HASHES: Record<string, string> = {
  [OID_ECDSA_WITH_SHA256]: "sha256",
  "1.2.840.10045.4.3.3": "sha384", // ecdsa-with-SHA384
};

// ---------- DER ----------

const { asn1 } = forge;
// forge's fromDer takes an options object at runtime; its typings only know the old boolean
// form. BIT STRINGs stay opaque so that re-encoding gives back the very same bytes.
const EXACT_DER = { strict: true, parseAllBytes: true, decodeBitStrings: false } as unknown as boolean;

function derOf(obj: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(obj).getBytes(), "binary");
}

function asn1Of(der: Buffer): forge.asn1.Asn1 {
  const obj = asn1.fromDer(der.toString("binary"), EXACT_DER);
  if (!derOf(obj).equals(der)) throw new PkiError("DER does not survive re-encoding"); // never for DER from OpenSSL
  return obj;
}

/** One DER tag-length-value: offsets of its first byte, its contents and its end. */
interface Tlv {
  tag: number;
  start: number;
  body: number;
  end: number;
}

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;
const TAG_ATTRIBUTES = 0xa0; // [0] IMPLICIT SET, constructed

function tlvAt(der: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new Error("truncated");
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Error("multi-byte tags are not supported");
  let length = der[at + 1]!;
  let body = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new Error("bad length");
    if (der[body] === 0) throw new Error("non-minimal length");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[body++]!;
    if (length < 0x80) throw new Error("non-minimal length");
  }
  if (body + length > limit) throw new Error("truncated");
  return { tag, start: at, body, end: body + length };
}

function tlvChildren(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end;) {
    const child = tlvAt(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

// ---------- keys ----------

const generateKeyPairAsync = promisify(generateKeyPair);

function newRsaKey(bits: number): KeyPairKeyObjectResult {
  return generateKeyPairSync("rsa", { modulusLength: bits, publicExponent: 0x10001 });
}

function leafKeyType(keyType: unknown, what: string): LeafKeyType {
  if (keyType === undefined) return LEAF_KEY_TYPE;
  if (keyType === "ec" || keyType === "rsa") return keyType;
  throw new PkiError(`${what}: keyType must be "ec" or "rsa", got ${JSON.stringify(keyType)}`);
}

function newLeafKey(keyType: LeafKeyType): KeyPairKeyObjectResult {
  return keyType === "ec" ? generateKeyPairSync("ec", { namedCurve: LEAF_EC_CURVE }) : newRsaKey(LEAF_KEY_BITS);
}

function pkcs8Pem(key: KeyObject): string {
  return normalizePem(key.export({ type: "pkcs8", format: "pem" }) as string);
}

/** A CA key: unencrypted RSA in PEM. */
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

/** The public key a certificate is for, in the forms building one needs. */
interface SubjectKey {
  /** SubjectPublicKeyInfo as OpenSSL encodes it */
  spki: Buffer;
  /** subjectKeyIdentifier (RFC 5280 method 1: SHA-1 of the subjectPublicKey bits), binary string */
  keyId: string;
  /** keyEncipherment only makes sense for RSA */
  rsa: boolean;
}

function subjectKey(key: KeyObject): SubjectKey {
  const spki = (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" });
  const [, bits] = tlvChildren(spki, tlvAt(spki, 0, spki.length));
  if (bits?.tag !== TAG_BIT_STRING || spki[bits.body] !== 0) throw new PkiError("SubjectPublicKeyInfo without a whole-byte key BIT STRING");
  const keyId = createHash("sha1")
    .update(spki.subarray(bits.body + 1, bits.end))
    .digest()
    .toString("binary");
  return { spki, keyId, rsa: key.asymmetricKeyType === "rsa" };
}

// ---------- CSRs (PKCS#10, RFC 2986), built and read as DER ----------

function algorithmIdentifier(oid: string): forge.asn1.Asn1 {
  const parts = [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes())];
  // RSA signature algorithms carry NULL parameters (RFC 4055), ECDSA ones none (RFC 5758)
  if (oid !== OID_ECDSA_WITH_SHA256) parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ""));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, parts);
}

function csrFromKeys(keys: KeyPairKeyObjectResult, commonName: string): { keyPem: string; csrPem: string } {
  if (typeof commonName !== "string" || commonName.length === 0 || commonName.length > MAX_CN_LENGTH) {
    throw new PkiError(`generateKeyAndCsr: commonName must be 1..${MAX_CN_LENGTH} characters`);
  }
  const { spki, rsa } = subjectKey(keys.publicKey);
  const { UNIVERSAL, CONTEXT_SPECIFIC } = asn1.Class;
  const { SEQUENCE, SET, INTEGER, OID, UTF8, BITSTRING } = asn1.Type;
  const subject = asn1.create(UNIVERSAL, SEQUENCE, true, [
    asn1.create(UNIVERSAL, SET, true, [
      asn1.create(UNIVERSAL, SEQUENCE, true, [
        asn1.create(UNIVERSAL, OID, false, asn1.oidToDer(forge.pki.oids.commonName!).getBytes()),
        asn1.create(UNIVERSAL, UTF8, false, forge.util.encodeUtf8(commonName)),
      ]),
    ]),
  ]);
  const info = derOf(
    asn1.create(UNIVERSAL, SEQUENCE, true, [
      asn1.create(UNIVERSAL, INTEGER, false, "\x00"), // version 1
      subject,
      asn1Of(spki),
      asn1.create(CONTEXT_SPECIFIC, 0, true, []), // attributes: none
    ]),
  );
  // ECDSA signatures come DER-encoded (Ecdsa-Sig-Value), as X.509 wants them
  const signature = cryptoSign("sha256", info, keys.privateKey);
  const csr = asn1.create(UNIVERSAL, SEQUENCE, true, [
    asn1Of(info),
    algorithmIdentifier(rsa ? OID_SHA256_WITH_RSA : OID_ECDSA_WITH_SHA256),
    asn1.create(UNIVERSAL, BITSTRING, false, `\x00${signature.toString("binary")}`),
  ]);
  const csrPem = forge.pem.encode({ type: "CERTIFICATE REQUEST", body: derOf(csr).toString("binary") });
  return { keyPem: pkcs8Pem(keys.privateKey), csrPem: normalizePem(csrPem) };
}

/**
 * A fresh key (PKCS#8 PEM) and a CSR for it; the key never leaves the caller. keyType "ec"
 * (default): ECDSA P-256, ~1 ms in all. "rsa": RSA-2048, blocks for 50-300 ms.
 */
export function generateKeyAndCsr(opts: { commonName: string; keyType?: LeafKeyType }): { keyPem: string; csrPem: string } {
  return csrFromKeys(newLeafKey(leafKeyType(opts.keyType, "generateKeyAndCsr")), opts.commonName);
}

/** generateKeyAndCsr without blocking the event loop: the key is generated on libuv's thread pool. */
export async function generateKeyAndCsrAsync(opts: {
  commonName: string;
  keyType?: LeafKeyType;
}): Promise<{ keyPem: string; csrPem: string }> {
  const keyType = leafKeyType(opts.keyType, "generateKeyAndCsrAsync");
  const keys =
    keyType === "ec"
      ? await generateKeyPairAsync("ec", { namedCurve: LEAF_EC_CURVE })
      : await generateKeyPairAsync("rsa", { modulusLength: LEAF_KEY_BITS, publicExponent: 0x10001 });
  return csrFromKeys(keys, opts.commonName);
}

interface ParsedCsr {
  /** CertificationRequestInfo exactly as signed */
  info: Buffer;
  spki: Buffer;
  signatureOid: string;
  signature: Buffer;
}

function parseCsr(csrPem: string): ParsedCsr {
  try {
    const msg = forge.pem.decode(csrPem).find((m) => m.type === "CERTIFICATE REQUEST" || m.type === "NEW CERTIFICATE REQUEST");
    if (!msg) throw new Error("no PEM CERTIFICATE REQUEST block");
    if ((msg.procType as { type?: string } | undefined)?.type === "ENCRYPTED") throw new Error("the PEM block is encrypted");
    const der = Buffer.from(msg.body, "binary");
    const outer = tlvAt(der, 0, der.length);
    if (outer.tag !== TAG_SEQUENCE || outer.end !== der.length) throw new Error("not a DER SEQUENCE");
    const [info, algorithm, signature, ...more] = tlvChildren(der, outer);
    if (info?.tag !== TAG_SEQUENCE || algorithm?.tag !== TAG_SEQUENCE || signature?.tag !== TAG_BIT_STRING || more.length > 0) {
      throw new Error("not a CertificationRequest");
    }
    const [version, subject, spki, ...attributes] = tlvChildren(der, info);
    if (
      version?.tag !== TAG_INTEGER ||
      subject?.tag !== TAG_SEQUENCE ||
      spki?.tag !== TAG_SEQUENCE ||
      attributes.length > 1 ||
      (attributes[0] && attributes[0].tag !== TAG_ATTRIBUTES)
    ) {
      throw new Error("not a CertificationRequestInfo");
    }
    if (version.end !== version.body + 1 || der[version.body] !== 0) throw new Error("version is not 1");
    const [oid] = tlvChildren(der, algorithm);
    if (oid?.tag !== TAG_OID || oid.end === oid.body) throw new Error("signatureAlgorithm has no OID");
    if (signature.end === signature.body || der[signature.body] !== 0) throw new Error("signature is not whole bytes");
    return {
      info: der.subarray(info.start, info.end),
      spki: der.subarray(spki.start, spki.end),
      signatureOid: asn1.derToOid(der.subarray(oid.body, oid.end).toString("binary")),
      signature: der.subarray(signature.body + 1, signature.end),
    };
  } catch (err) {
    throw new PkiError(`signCsr: not a parsable PKCS#10 CSR (${(err as Error).message})`, { cause: err });
  }
}

/** The digest the CSR's signature uses, once its key and algorithm are ones we accept. */
function csrSignatureHash(key: KeyObject, signatureOid: string): string {
  const type = key.asymmetricKeyType;
  if (type === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_CSR_KEY_BITS) throw new PkiError(`signCsr: CSR key is ${bits} bits, at least ${MIN_CSR_KEY_BITS} required`);
    const hash = RSA_SIGNATURE_HASHES[signatureOid];
    if (!hash)
      throw new PkiError(`signCsr: CSR signature algorithm ${signatureOid} is not accepted for an RSA key (RSA with SHA-256/384/512 only)`);
    return hash;
  }
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (!curve || !CSR_CURVES[curve]) {
      throw new PkiError(`signCsr: CSR EC key is on curve ${String(curve)}, only P-256 (prime256v1) and P-384 (secp384r1) are accepted`);
    }
    const hash = ECDSA_SIGNATURE_HASHES[signatureOid];
    if (!hash)
      throw new PkiError(`signCsr: CSR signature algorithm ${signatureOid} is not accepted for an EC key (ECDSA with SHA-256/384 only)`);
    return hash;
  }
  throw new PkiError(
    `signCsr: CSR key type ${String(type)} is not accepted (RSA of at least ${MIN_CSR_KEY_BITS} bits, or EC on P-256/P-384)`,
  );
}

function verifiedCsrPublicKey(csrPem: string): KeyObject {
  const csr = parseCsr(csrPem);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: csr.spki, format: "der", type: "spki" });
  } catch (err) {
    throw new PkiError(`signCsr: CSR public key is not usable (${(err as Error).message})`, { cause: err });
  }
  const hash = csrSignatureHash(key, csr.signatureOid);
  // proof of possession, checked by OpenSSL over the exact signed bytes
  let ok = false;
  try {
    ok = cryptoVerify(hash, csr.info, key, csr.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new PkiError("signCsr: CSR signature does not verify (no proof of possession of the private key)");
  return key;
}

// ---------- building certificates ----------

// forge's builder of the to-be-signed part (public in forge, missing from its typings)
const forgeInternals = forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 };

/**
 * forge only puts RSA keys in certificates: each one is built around this stand-in (no key
 * generation, nothing it could verify), whose SubjectPublicKeyInfo signCertificate swaps for
 * the real one before signing.
 */
const STAND_IN_KEY = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger("1"), new forge.jsbn.BigInteger("1"));
const STAND_IN_SPKI = derOf(forge.pki.publicKeyToAsn1(STAND_IN_KEY));
/** index of subjectPublicKeyInfo in forge's TBSCertificate, which always has the [0] version */
const TBS_SPKI_INDEX = 6;

function newCertificate(): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = STAND_IN_KEY;
  cert.serialNumber = randomSerialHex();
  return cert;
}

/** The subjectKeyIdentifier extension, given explicitly so that forge does not derive it from the stand-in. */
function subjectKeyIdentifier(subject: SubjectKey): { name: string; subjectKeyIdentifier: string; value: forge.asn1.Asn1 } {
  return {
    name: "subjectKeyIdentifier",
    subjectKeyIdentifier: forge.util.bytesToHex(subject.keyId),
    value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, subject.keyId),
  };
}

/** forge's cert.sign(key, sha256) for the subject's real key, with the RSA operation done by OpenSSL. */
function signCertificate(cert: forge.pki.Certificate, subject: SubjectKey, issuerKey: KeyObject): void {
  cert.md = forge.md.sha256.create();
  cert.signatureOid = cert.siginfo.algorithmOid = OID_SHA256_WITH_RSA;
  const tbs = forgeInternals.getTBSCertificate(cert);
  const parts = tbs.value as forge.asn1.Asn1[];
  const standIn = parts[TBS_SPKI_INDEX];
  if (!standIn || !derOf(standIn).equals(STAND_IN_SPKI)) throw new PkiError("internal: forge's TBSCertificate layout changed");
  parts[TBS_SPKI_INDEX] = asn1Of(subject.spki);
  cert.tbsCertificate = tbs; // cached: certificateToPem writes these bytes
  cert.signature = cryptoSign("sha256", derOf(tbs), issuerKey).toString("binary");
}

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
  const subject = subjectKey(keys.publicKey);
  const cert = newCertificate();
  const now = Date.now();
  cert.validity.notBefore = wholeSeconds(now - CLOCK_SKEW_SECONDS * 1000);
  cert.validity.notAfter = wholeSeconds(now + days * 86_400_000);
  const name = caSubject(opts.commonName);
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    // pathLen 1: root -> regional intermediate -> leaf, nothing deeper
    { name: "basicConstraints", critical: true, cA: true, pathLenConstraint: 1 },
    { name: "keyUsage", critical: true, keyCertSign: true, cRLSign: true },
    subjectKeyIdentifier(subject),
  ]);
  signCertificate(cert, subject, keys.privateKey);
  const certPem = toPem(cert);
  return { certPem, keyPem: pkcs8Pem(keys.privateKey), chainPem: certPem };
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
  const subject = subjectKey(keys.publicKey);
  const cert = newCertificate();
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
    subjectKeyIdentifier(subject),
    { name: "authorityKeyIdentifier", keyIdentifier: issuer.keyId },
  ]);
  signCertificate(cert, subject, issuer.key);
  const certPem = toPem(cert);
  return { certPem, keyPem: pkcs8Pem(keys.privateKey), chainPem: certPem + pemCertificates(root.chainPem || root.certPem).join("") };
}

// ---------- leaves ----------

function buildLeaf(ca: CertificateAuthority, publicKey: KeyObject, opts: IssueOptions): IssuedCertificate {
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

  const subject = subjectKey(publicKey);
  const cert = newCertificate();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: "commonName", value: uri.slice(0, MAX_CN_LENGTH) }]);
  cert.setIssuer(issuer.cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", critical: true, cA: false },
    // keyEncipherment is for RSA key transport; an EC key only signs (ECDHE)
    { name: "keyUsage", critical: true, digitalSignature: true, ...(subject.rsa ? { keyEncipherment: true } : {}) },
    { name: "extKeyUsage", clientAuth: true, ...(server ? { serverAuth: true } : {}) },
    // critical when the subject DN carries no name of its own is what RFC 5280 asks; our
    // subject has the CN, so keep it non-critical for the widest compatibility
    { name: "subjectAltName", altNames },
    subjectKeyIdentifier(subject),
    { name: "authorityKeyIdentifier", keyIdentifier: issuer.keyId },
  ]);
  signCertificate(cert, subject, issuer.key);
  const certPem = toPem(cert);
  return {
    certPem,
    chainPem: certPem + chainBelowRoot(ca.chainPem || ca.certPem),
    serial: normalizeSerial(cert.serialNumber),
    notAfter,
  };
}

/**
 * Issues a leaf for the key in a CSR: RSA of at least 2048 bits (signed with SHA-256/384/512)
 * or EC on P-256/P-384 (ECDSA with SHA-256/384). Verifies the CSR's self-signature, then ignores
 * everything else the CSR asks for (subject, extensions, SANs): the identity, validity and
 * usages come from opts alone. clientAuth always; serverAuth (with DNS/IP SANs) when
 * opts.server. Subject CN is the identity URI (truncated to 64 characters).
 */
export function signCsr(ca: CertificateAuthority, csrPem: string, opts: IssueOptions): IssuedCertificate {
  if (typeof csrPem !== "string") throw new PkiError("signCsr: csrPem must be a string");
  return buildLeaf(ca, verifiedCsrPublicKey(csrPem), opts);
}

/** Generates a key here (EC P-256 unless keyType says "rsa") and issues a leaf for it: for the manager's own server cert, and for tests. */
export function issueKeyAndCertificate(
  ca: CertificateAuthority,
  opts: IssueOptions & { keyType?: LeafKeyType },
): IssuedCertificate & { keyPem: string } {
  const keys = newLeafKey(leafKeyType(opts.keyType, "issueKeyAndCertificate"));
  const issued = buildLeaf(ca, keys.publicKey, opts);
  return { ...issued, keyPem: pkcs8Pem(keys.privateKey) };
}
