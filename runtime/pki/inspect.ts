// Reading and checking certificates: what a peer presented, whether it chains to our root,
// whether it is time to renew.

import { createHash, type X509Certificate } from "node:crypto";
import forge from "node-forge";
import { PkiError } from "./errors.js";
import { IDENTITY_SCHEME, parseIdentity, type Identity } from "./identity.js";
import { normalizeSerial, subjectAltNames, validity, x509, x509All } from "./der.js";

export interface CertificateInfo {
  /** lower-case hex, no leading zeros (same form as IssuedCertificate.serial) */
  serial: string;
  /** e.g. "CN=framefleet://eu/coordinator/c1" or "O=framefleet, CN=..." */
  subject: string;
  notBefore: Date;
  notAfter: Date;
  uris: string[];
  /** SHA-256 of the DER, lower-case hex without separators */
  fingerprintSha256: string;
  isCA: boolean;
}

/** Facts about the first certificate in the PEM. */
export function certificateInfo(certPem: string): CertificateInfo {
  const cert = x509(certPem);
  const { notBefore, notAfter } = validity(cert.raw);
  return {
    serial: normalizeSerial(cert.serialNumber),
    subject: cert.subject.split("\n").filter(Boolean).join(", "),
    notBefore,
    notAfter,
    uris: subjectAltNames(cert.raw).uris,
    fingerprintSha256: createHash("sha256").update(cert.raw).digest("hex"),
    isCA: cert.ca,
  };
}

/**
 * The identity in a certificate's framefleet:// URI SAN. Accepts a PEM string (first cert)
 * or a DER Buffer, e.g. grpc-js / node:tls `getPeerCertificate().raw`. Does NOT check the
 * chain: call it on a peer certificate the TLS layer has already verified.
 * PkiError when there is no framefleet URI, several, or a malformed one.
 */
export function identityOf(certPemOrDer: string | Buffer): Identity {
  const cert = x509(certPemOrDer, "identityOf");
  const uris = subjectAltNames(cert.raw).uris.filter((u) => u.toLowerCase().startsWith("framefleet:"));
  if (uris.length === 0) throw new PkiError(`identityOf: certificate has no ${IDENTITY_SCHEME} URI SAN`);
  if (uris.length > 1) throw new PkiError(`identityOf: certificate has ${uris.length} ${IDENTITY_SCHEME} URI SANs, expected exactly one`);
  return parseIdentity(uris[0]!);
}

/**
 * True once the remaining lifetime is at most `remainingFraction` of the whole
 * (default: the last third), or the certificate is expired.
 */
export function needsRotation(certPem: string, now: Date = new Date(), remainingFraction = 1 / 3): boolean {
  if (!(remainingFraction >= 0 && remainingFraction <= 1)) throw new PkiError("needsRotation: remainingFraction must be between 0 and 1");
  const { notBefore, notAfter } = validity(x509(certPem).raw);
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const remaining = notAfter.getTime() - now.getTime();
  return remaining <= 0 || remaining <= lifetime * remainingFraction;
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const { notBefore, notAfter } = validity(cert.raw);
  return notBefore.getTime() <= now.getTime() && now.getTime() <= notAfter.getTime();
}

function selfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

const MAX_DEPTH = 4;

// forge's fromDer takes an options object at runtime; its typings only know the old boolean
// form. BIT STRINGs left opaque re-encode to the very same bytes.
const EXACT_DER = { strict: true, parseAllBytes: true, decodeBitStrings: false } as unknown as boolean;
/** stands in for a key forge cannot read (EC leaves); it never verifies anything */
const STAND_IN_SPKI = forge.pki.publicKeyToAsn1(forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger("1"), new forge.jsbn.BigInteger("1")));

/**
 * forge's view of a certificate for path validation. forge reads RSA keys only, so any other
 * subject key (EC leaves) is replaced by a stand-in, while the certificate keeps the
 * TBSCertificate its issuer signed: forge still checks the issuer's signature over the real
 * bytes. The stand-in would only matter if this certificate signed another, and only CAs do,
 * which are RSA (one that is not fails forge's check, hence verifyChain, as it should).
 */
function forgeCertificate(cert: X509Certificate): forge.pki.Certificate {
  if (cert.publicKey.asymmetricKeyType === "rsa") return forge.pki.certificateFromPem(cert.toString());
  const der = cert.raw.toString("binary");
  const signedTbs = (forge.asn1.fromDer(der, EXACT_DER).value as forge.asn1.Asn1[])[0]!;
  const obj = forge.asn1.fromDer(der); // forge's own options, as certificateFromPem uses
  const parts = (obj.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[];
  parts[parts[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 6 : 5] = STAND_IN_SPKI; // after the [0] version, if any
  const out = forge.pki.certificateFromAsn1(obj);
  out.tbsCertificate = signedTbs; // what forge digests to check the issuer's signature
  return out;
}

/**
 * Whether the first certificate of `leafPem` chains to `trustedRootPem` at `now`, through
 * certificates from the rest of `leafPem` (so an IssuedCertificate.chainPem works as is)
 * and `intermediatesPem`. Two independent checks must both pass:
 * - OpenSSL (node's X509Certificate): path building by issuer name + key identifier +
 *   keyCertSign, every signature, every validity period, cA on every issuer;
 * - forge's RFC 5280 path validation: basicConstraints pathLen, keyUsage, name
 *   constraints, unknown critical extensions.
 * Does not check EKU or revocation. Throws PkiError only when the trusted root itself is
 * unusable; anything wrong with the presented certificates gives false.
 */
export function verifyChain(leafPem: string, trustedRootPem: string, intermediatesPem?: string, now: Date = new Date()): boolean {
  const root = x509(trustedRootPem, "verifyChain: trusted root");
  if (!root.ca || !selfSigned(root)) throw new PkiError("verifyChain: the trusted root must be a self-signed CA certificate");
  let presented: X509Certificate[];
  let extra: X509Certificate[];
  try {
    presented = x509All(leafPem, "verifyChain: leaf");
    extra = x509All(intermediatesPem, "verifyChain: intermediate");
  } catch (err) {
    if (err instanceof PkiError) return false;
    throw err;
  }
  const leaf = presented[0];
  if (!leaf) return false;
  const pool = [...presented.slice(1), ...extra].filter((c) => c.ca);

  // 1. OpenSSL: build the path leaf -> ... -> root
  const path: X509Certificate[] = [leaf];
  let current = leaf;
  for (;;) {
    if (current.checkIssued(root) && current.verify(root.publicKey)) break;
    if (path.length > MAX_DEPTH) return false;
    const issuer = pool.find((c) => !path.includes(c) && current.checkIssued(c) && current.verify(c.publicKey));
    if (!issuer) return false;
    path.push(issuer);
    current = issuer;
  }
  if (![...path, root].every((c) => validAt(c, now))) return false;
  if (!path.slice(1).every((c) => c.ca)) return false;

  // 2. forge: RFC 5280 constraints over the same path
  try {
    const store = forge.pki.createCaStore([root.toString()]);
    const chain = path.map(forgeCertificate);
    return forge.pki.verifyCertificateChain(store, chain, { validityCheckDate: now }) === true;
  } catch {
    return false;
  }
}
