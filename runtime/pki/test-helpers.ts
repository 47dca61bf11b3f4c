// Test-only helpers (imported by *.test.ts files only).
import { generateKeyPairSync } from "node:crypto";
import forge from "node-forge";
import type { CertificateAuthority } from "./ca.js";

/**
 * A leaf signed directly with a CA's key by forge, bypassing signCsr's checks: what someone
 * holding a leaked intermediate key could mint. Returns the leaf+issuer chain and the key.
 */
export function forgeRogueLeaf(
  ca: CertificateAuthority,
  uri: string,
  opts: { extKeyUsage?: boolean } = {},
): { keyPem: string; certPem: string; chainPem: string } {
  const keys = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const issuer = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  cert.setSubject([{ name: "commonName", value: "rogue" }]);
  cert.setIssuer(issuer.subject.attributes);
  const skiExt = issuer.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier: string };
  cert.setExtensions([
    { name: "basicConstraints", critical: true, cA: false },
    { name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: true },
    ...(opts.extKeyUsage === false ? [] : [{ name: "extKeyUsage", clientAuth: true, serverAuth: true }]),
    { name: "subjectAltName", altNames: [{ type: 6, value: uri }] },
    { name: "authorityKeyIdentifier", keyIdentifier: forge.util.hexToBytes(skiExt.subjectKeyIdentifier) },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert).replace(/\r\n/g, "\n");
  return { keyPem: keys.privateKey, certPem, chainPem: certPem + ca.certPem };
}

/** The PEM with one byte of its DER changed at `offsetFromEnd` bytes before the end. */
export function flipDerByte(pem: string, label: string, offsetFromEnd: number): string {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const der = Buffer.from(b64, "base64");
  const i = der.length - offsetFromEnd;
  der[i] = der[i]! ^ 0x01;
  const body = der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trim();
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
