// Small, format-independent readers over certificate DER (internal to runtime/pki).
// Node's X509Certificate does the parsing and signature checks; these helpers read the
// few fields it does not expose structurally (SAN entries by type, validity dates,
// basicConstraints) with forge's ASN.1 decoder, so they work for any key algorithm.

import { X509Certificate } from "node:crypto";
import forge from "node-forge";
import { PkiError } from "./errors.js";

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\r\n]+[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** The CERTIFICATE blocks of a PEM bundle, in order, with "\n" line endings. */
export function pemCertificates(pem: string): string[] {
  if (typeof pem !== "string") throw new PkiError("expected a PEM string");
  return (pem.match(PEM_CERT_RE) ?? []).map((block) => `${block.replace(/\r\n/g, "\n")}\n`);
}

/** The first certificate of a PEM bundle; PkiError when there is none. */
export function firstPemCertificate(pem: string, what = "certificate"): string {
  const first = pemCertificates(pem)[0];
  if (!first) throw new PkiError(`${what}: no PEM CERTIFICATE block found`);
  return first;
}

/** Parses the first certificate of a PEM string, or a DER buffer. */
export function x509(certPemOrDer: string | Buffer, what = "certificate"): X509Certificate {
  const input = typeof certPemOrDer === "string" ? firstPemCertificate(certPemOrDer, what) : certPemOrDer;
  if (!(typeof input === "string" || Buffer.isBuffer(input))) throw new PkiError(`${what}: expected a PEM string or a DER Buffer`);
  try {
    return new X509Certificate(input);
  } catch (err) {
    throw new PkiError(`${what}: not a parsable X.509 certificate (${(err as Error).message})`, { cause: err });
  }
}

export function x509All(pem: string | undefined, what: string): X509Certificate[] {
  if (!pem) return [];
  return pemCertificates(pem).map((block, i) => x509(block, `${what} #${i + 1}`));
}

/** PEM from forge uses CRLF; keep "\n" everywhere so files and comparisons are stable. */
export function normalizePem(pem: string): string {
  const s = pem.replace(/\r\n/g, "\n").trim();
  return `${s}\n`;
}

const OID_SUBJECT_ALT_NAME = "2.5.29.17";

// forge's fromDer takes an options object at runtime; its typings only know the old boolean form
const STRICT_DER = { strict: true, parseAllBytes: true, decodeBitStrings: false } as unknown as boolean;

interface RawExtension {
  oid: string;
  critical: boolean;
  value: string; // DER bytes as a forge binary string
}

interface TbsParts {
  validity: forge.asn1.Asn1;
  extensions: RawExtension[];
}

function tbsParts(der: Buffer): TbsParts {
  const fail = (why: string): never => {
    throw new PkiError(`certificate DER: ${why}`);
  };
  let root: forge.asn1.Asn1;
  try {
    root = forge.asn1.fromDer(forge.util.createBuffer(der.toString("binary")), STRICT_DER);
  } catch (err) {
    throw new PkiError(`certificate DER: ${(err as Error).message}`, { cause: err });
  }
  const certSeq = Array.isArray(root.value) ? root.value : fail("not a SEQUENCE");
  const tbs = certSeq[0];
  const tbsSeq = tbs && Array.isArray(tbs.value) ? tbs.value : fail("tbsCertificate missing");
  let i = 0;
  const first = tbsSeq[0];
  if (first && first.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && first.type === 0) i = 1; // [0] version
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
  const validity = tbsSeq[i + 3] ?? fail("validity missing");
  const extensions: RawExtension[] = [];
  for (const el of tbsSeq.slice(i + 6)) {
    if (el.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC || el.type !== 3) continue; // [3] extensions
    const wrapped = Array.isArray(el.value) ? el.value[0] : undefined;
    const list = wrapped && Array.isArray(wrapped.value) ? wrapped.value : fail("extensions malformed");
    for (const ext of list) {
      const parts = Array.isArray(ext.value) ? ext.value : fail("extension malformed");
      const oidEl = parts[0];
      const valueEl = parts[parts.length - 1];
      if (!oidEl || typeof oidEl.value !== "string" || !valueEl || typeof valueEl.value !== "string") fail("extension malformed");
      const criticalEl = parts.length === 3 ? parts[1] : undefined;
      extensions.push({
        oid: forge.asn1.derToOid(oidEl!.value as string),
        critical: criticalEl !== undefined && criticalEl.value === "\xff",
        value: valueEl!.value as string,
      });
    }
  }
  return { validity, extensions };
}

export interface SubjectAltNames {
  uris: string[];
  dnsNames: string[];
  /** textual form, as node's net module and X509Certificate.checkIP read it */
  ipAddresses: string[];
}

function bytesToIp(bytes: string): string {
  if (bytes.length === 4) return Array.from(bytes, (c) => c.charCodeAt(0)).join(".");
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let k = 0; k < 16; k += 2) groups.push(((bytes.charCodeAt(k) << 8) | bytes.charCodeAt(k + 1)).toString(16));
    return groups.join(":");
  }
  return `<${bytes.length}-byte address>`;
}

/** Every SAN entry by type, across all SAN extensions (a duplicate extension cannot hide a name). */
export function subjectAltNames(der: Buffer): SubjectAltNames {
  const out: SubjectAltNames = { uris: [], dnsNames: [], ipAddresses: [] };
  for (const ext of tbsParts(der).extensions) {
    if (ext.oid !== OID_SUBJECT_ALT_NAME) continue;
    let names: forge.asn1.Asn1;
    try {
      names = forge.asn1.fromDer(forge.util.createBuffer(ext.value), STRICT_DER);
    } catch (err) {
      throw new PkiError(`certificate subjectAltName: ${(err as Error).message}`, { cause: err });
    }
    if (!Array.isArray(names.value)) throw new PkiError("certificate subjectAltName: not a SEQUENCE");
    for (const gn of names.value) {
      if (gn.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC || typeof gn.value !== "string") continue;
      if (gn.type === 6) out.uris.push(gn.value);
      else if (gn.type === 2) out.dnsNames.push(gn.value);
      else if (gn.type === 7) out.ipAddresses.push(bytesToIp(gn.value));
    }
  }
  return out;
}

function asn1Time(el: forge.asn1.Asn1 | undefined): Date {
  if (!el || typeof el.value !== "string") throw new PkiError("certificate DER: validity malformed");
  if (el.type === forge.asn1.Type.UTCTIME) return forge.asn1.utcTimeToDate(el.value);
  if (el.type === forge.asn1.Type.GENERALIZEDTIME) return forge.asn1.generalizedTimeToDate(el.value);
  throw new PkiError("certificate DER: validity is neither UTCTime nor GeneralizedTime");
}

export function validity(der: Buffer): { notBefore: Date; notAfter: Date } {
  const v = tbsParts(der).validity;
  if (!Array.isArray(v.value)) throw new PkiError("certificate DER: validity malformed");
  return { notBefore: asn1Time(v.value[0]), notAfter: asn1Time(v.value[1]) };
}

/** Serial numbers as lower-case hex without leading zeros, the same in every API of this library. */
export function normalizeSerial(hex: string): string {
  const s = hex
    .replace(/[^0-9a-fA-F]/g, "")
    .toLowerCase()
    .replace(/^0+/, "");
  return s === "" ? "0" : s;
}
