import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from "node:crypto";
import forge from "node-forge";
import { beforeAll, describe, expect, it } from "vitest";
import {
  createIntermediateCA,
  createRootCA,
  generateKeyAndCsr,
  generateKeyAndCsrAsync,
  issueKeyAndCertificate,
  PkiError,
  signCsr,
  type CertificateAuthority,
} from "./ca.js";
import { certificateInfo, identityOf, needsRotation, verifyChain } from "./inspect.js";
import { flipDerByte, forgeRogueLeaf } from "./test-helpers.js";

let root: CertificateAuthority;
let eu: CertificateAuthority;
let otherRoot: CertificateAuthority;
let otherEu: CertificateAuthority;
const coordinator = { kind: "coordinator", region: "eu", id: "c1" } as const;

// forge's certificate parser reads RSA keys only: these read EC leaves at the ASN.1 level
const OPAQUE_BIT_STRINGS = { decodeBitStrings: false } as unknown as boolean;

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

/** The certificate's extensions as forge decodes them (works for any key type). */
function extensionsOf(pem: string): Record<string, Record<string, unknown>> {
  const tbs = (forge.asn1.fromDer(derOf(pem).toString("binary"), OPAQUE_BIT_STRINGS).value as forge.asn1.Asn1[])[0]!;
  const exts = (tbs.value as forge.asn1.Asn1[]).find((p) => p.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && p.type === 3)!;
  const decoded = (
    forge.pki as unknown as { certificateExtensionsFromAsn1(e: forge.asn1.Asn1): Record<string, unknown>[] }
  ).certificateExtensionsFromAsn1(exts);
  return Object.fromEntries(decoded.map((e) => [e.name as string, e]));
}

function ski(pem: string): string {
  return extensionsOf(pem).subjectKeyIdentifier!.subjectKeyIdentifier as string;
}

function aki(pem: string): string {
  const keyId = (forge.asn1.fromDer(extensionsOf(pem).authorityKeyIdentifier!.value as string).value as forge.asn1.Asn1[])[0]!;
  return forge.util.bytesToHex(keyId.value as string);
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING (without its unused-bits byte). */
function keyBitsSha1(key: KeyObject): string {
  const spki = forge.asn1.fromDer(key.export({ type: "spki", format: "der" }).toString("binary"), OPAQUE_BIT_STRINGS);
  const bits = (spki.value as forge.asn1.Asn1[])[1]!.value as string;
  return createHash("sha1")
    .update(Buffer.from(bits.slice(1), "binary"))
    .digest("hex");
}

/** The parts of a CSR: [CertificationRequestInfo, signatureAlgorithm, signature]. */
function csrParts(csrPem: string): forge.asn1.Asn1[] {
  return forge.asn1.fromDer(derOf(csrPem).toString("binary"), OPAQUE_BIT_STRINGS).value as forge.asn1.Asn1[];
}

function csrPublicKey(csrPem: string): KeyObject {
  const spki = (csrParts(csrPem)[0]!.value as forge.asn1.Asn1[])[2]!;
  return createPublicKey({ key: Buffer.from(forge.asn1.toDer(spki).getBytes(), "binary"), format: "der", type: "spki" });
}

function toCsrPem(parts: forge.asn1.Asn1[]): string {
  const csr = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, parts);
  return forge.pem.encode({ type: "CERTIFICATE REQUEST", body: forge.asn1.toDer(csr).getBytes() });
}

/** A CSR for any key, signed with `signer` (default: the key's own) under `signatureOid`. */
function handMadeCsr(
  keys: { publicKey: KeyObject; privateKey: KeyObject },
  hash: string | null,
  signatureOid: string,
  signer: KeyObject = keys.privateKey,
): string {
  const { asn1 } = forge;
  const { UNIVERSAL, CONTEXT_SPECIFIC } = asn1.Class;
  const spki = asn1.fromDer(keys.publicKey.export({ type: "spki", format: "der" }).toString("binary"), OPAQUE_BIT_STRINGS);
  const info = asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(UNIVERSAL, asn1.Type.INTEGER, false, "\x00"),
    asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, []), // empty subject
    spki,
    asn1.create(CONTEXT_SPECIFIC, 0, true, []),
  ]);
  const signature = sign(hash, Buffer.from(asn1.toDer(info).getBytes(), "binary"), signer);
  return toCsrPem([
    info,
    asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(signatureOid).getBytes()),
    ]),
    asn1.create(UNIVERSAL, asn1.Type.BITSTRING, false, `\x00${signature.toString("binary")}`),
  ]);
}

const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const ECDSA_WITH_SHA384 = "1.2.840.10045.4.3.3";

beforeAll(() => {
  root = createRootCA({ commonName: "test root" });
  eu = createIntermediateCA(root, { region: "eu" });
  otherRoot = createRootCA({ commonName: "test root" }); // same name on purpose: only keys tell them apart
  otherEu = createIntermediateCA(otherRoot, { region: "eu" });
});

describe("CA hierarchy", () => {
  it("creates a self-signed root and a constrained regional intermediate", () => {
    const r = certificateInfo(root.certPem);
    expect(r.isCA).toBe(true);
    expect(r.subject).toBe("O=framefleet, CN=test root");
    expect(root.chainPem).toBe(root.certPem);
    expect(r.notAfter.getTime() - Date.now()).toBeGreaterThan(3649 * 86_400_000);

    const i = certificateInfo(eu.certPem);
    expect(i.isCA).toBe(true);
    expect(i.uris).toEqual(["framefleet://eu/ca"]);
    expect(identityOf(eu.certPem)).toEqual({ kind: "ca", region: "eu" });
    expect(eu.chainPem).toBe(eu.certPem + root.certPem);
    expect(verifyChain(eu.certPem, root.certPem)).toBe(true);
    expect(verifyChain(eu.certPem, otherRoot.certPem)).toBe(false);
    const days = (i.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThanOrEqual(365);

    const forged = forge.pki.certificateFromPem(eu.certPem);
    expect(forged.getExtension("basicConstraints")).toMatchObject({ critical: true, cA: true, pathLenConstraint: 0 });
    expect(forged.getExtension("keyUsage")).toMatchObject({ critical: true, keyCertSign: true, cRLSign: true, digitalSignature: false });
    expect(forged.getExtension("nameConstraints")).toMatchObject({ critical: true });
    // AKI of the intermediate is the root's SKI (forge's keyIdentifier:true would put the intermediate's own)
    expect(ski(root.certPem)).toMatch(/^[0-9a-f]{40}$/);
    expect(ski(root.certPem)).toBe(keyBitsSha1(new X509Certificate(root.certPem).publicKey));
    expect(ski(eu.certPem)).toBe(keyBitsSha1(new X509Certificate(eu.certPem).publicKey));
    expect(aki(eu.certPem)).toBe(ski(root.certPem));
    expect(ski(eu.certPem)).not.toBe(ski(root.certPem));
    const leaf = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 60 });
    expect(aki(leaf.certPem)).toBe(ski(eu.certPem));
    expect(new X509Certificate(eu.certPem).checkIssued(new X509Certificate(root.certPem))).toBe(true);
  });

  it("never lets an intermediate outlive its root", () => {
    const shortRoot = createRootCA({ commonName: "short", validityDays: 10 });
    const inter = createIntermediateCA(shortRoot, { region: "eu", validityDays: 365 });
    expect(certificateInfo(inter.certPem).notAfter.getTime()).toBe(certificateInfo(shortRoot.certPem).notAfter.getTime());
  });

  it("refuses bad CA requests", () => {
    expect(() => createIntermediateCA(root, { region: "EU!" })).toThrow(/region "EU!" must match/);
    expect(() => createIntermediateCA(eu, { region: "eu" })).toThrow(/issuer must be the self-signed root/);
    expect(() => createIntermediateCA({ ...root, keyPem: eu.keyPem }, { region: "eu" })).toThrow(/keyPem does not match certPem/);
    expect(() => createRootCA({ commonName: "x", validityDays: 0 })).toThrow(PkiError);
  });
});

describe("signCsr", () => {
  it("issues a leaf that verifies against the root via the intermediate, and not against another root", () => {
    const { keyPem, csrPem } = generateKeyAndCsr({ commonName: "c1" });
    expect(keyPem).toContain("-----BEGIN PRIVATE KEY-----");
    const issued = signCsr(eu, csrPem, { identity: coordinator, validitySeconds: 3600 });

    expect(verifyChain(issued.certPem, root.certPem, eu.certPem)).toBe(true);
    expect(verifyChain(issued.chainPem, root.certPem)).toBe(true); // the chain carries the intermediate
    expect(verifyChain(issued.certPem, root.certPem)).toBe(false); // without it there is no path
    expect(verifyChain(issued.chainPem, otherRoot.certPem)).toBe(false);
    expect(verifyChain(issued.certPem, otherRoot.certPem, otherEu.certPem)).toBe(false); // same names, other keys
    // the certificate is for the CSR's key
    expect(new X509Certificate(issued.certPem).checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(identityOf(issued.certPem)).toEqual(coordinator);
    // chainPem is leaf + intermediate: the root is not sent, the peer has it
    expect(issued.chainPem).toBe(issued.certPem + eu.certPem);
  });

  it("reports serial and notAfter as they are in the certificate", () => {
    const before = Date.now();
    const a = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 600 });
    const after = Date.now();
    const b = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 600 });
    const info = certificateInfo(a.certPem);
    expect(a.serial).toMatch(/^[89a-f][0-9a-f]{31}$/); // 128 bits, top bit set, positive in DER
    expect(info.serial).toBe(a.serial);
    expect(new X509Certificate(a.certPem).serialNumber.toLowerCase().replace(/^0+/, "")).toBe(a.serial);
    expect(a.serial).not.toBe(b.serial);
    expect(info.notAfter.getTime()).toBe(a.notAfter.getTime());
    expect(a.notAfter.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 600_000);
    expect(a.notAfter.getTime()).toBeLessThanOrEqual(after + 600_000);
    // backdated 60 s for clock skew (and rounded down to whole seconds)
    expect(info.notBefore.getTime()).toBeLessThanOrEqual(after - 60_000);
    expect(info.notBefore.getTime()).toBeGreaterThan(before - 61_000);
    expect(info.notBefore.getTime() % 1000).toBe(0);
    expect(info.isCA).toBe(false);
    expect(info.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(info.subject).toBe("CN=framefleet://eu/coordinator/c1");
  });

  it("sets clientAuth always and serverAuth with DNS/IP SANs only for server certs", () => {
    const client = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 600 });
    const server = issueKeyAndCertificate(eu, {
      identity: { kind: "manager", region: "eu" },
      validitySeconds: 600,
      server: { dnsNames: ["localhost", "Manager.Example.com"], ipAddresses: ["127.0.0.1", "::1", "fe80::1:2"] },
    });
    const c = new X509Certificate(client.certPem);
    const s = new X509Certificate(server.certPem);
    expect(c.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect([...s.keyUsage].sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(c.subjectAltName).toBe("URI:framefleet://eu/coordinator/c1");
    expect(s.checkHost("localhost")).toBe("localhost");
    expect(s.checkHost("manager.example.com")).toBe("manager.example.com");
    expect(s.checkHost("evil.example.com")).toBeUndefined();
    expect(s.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(s.checkIP("::1")).toBe("::1");
    expect(s.checkIP("fe80::1:2")).toBe("fe80::1:2");
    expect(s.checkIP("10.0.0.1")).toBeUndefined();
    expect(identityOf(server.certPem)).toEqual({ kind: "manager", region: "eu" });
    expect(() =>
      issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 60, server: { ipAddresses: ["300.1.1.1"] } }),
    ).toThrow(/not a valid IPv4 or IPv6/);
    expect(() => issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 60, server: { dnsNames: ["bad name"] } })).toThrow(
      /DNS name "bad name"/,
    );
  });

  it("makes expired certificates when given a past notBefore, and verifyChain refuses them", () => {
    const { csrPem } = generateKeyAndCsr({ commonName: "old" });
    const notBefore = new Date(Date.now() - 30_000);
    const expired = signCsr(eu, csrPem, { identity: coordinator, validitySeconds: 10, notBefore });
    expect(certificateInfo(expired.certPem).notBefore.getTime()).toBe(Math.floor(notBefore.getTime() / 1000) * 1000);
    expect(verifyChain(expired.chainPem, root.certPem)).toBe(false);
    // the same chain was valid during its 10 s: the false above is about time alone
    expect(verifyChain(expired.chainPem, root.certPem, undefined, new Date(notBefore.getTime() + 5_000))).toBe(true);
    expect(verifyChain(expired.chainPem, root.certPem, undefined, new Date(notBefore.getTime() - 5_000))).toBe(false);
  });

  it("refuses a CSR whose signature was tampered with", () => {
    const { csrPem } = generateKeyAndCsr({ commonName: "c1" });
    const tampered = flipDerByte(csrPem, "CERTIFICATE REQUEST", 5); // inside the signature
    expect(tampered).not.toBe(csrPem);
    expect(() => signCsr(eu, tampered, { identity: coordinator, validitySeconds: 60 })).toThrow(PkiError);
    expect(() => signCsr(eu, tampered, { identity: coordinator, validitySeconds: 60 })).toThrow(/signature does not verify/);
    expect(() => signCsr(eu, csrPem, { identity: coordinator, validitySeconds: 60 })).not.toThrow();
  });

  it("refuses a CSR for a key the requester does not hold (public key swapped, old signature)", () => {
    const a = generateKeyAndCsr({ commonName: "a", keyType: "rsa" });
    const b = generateKeyAndCsr({ commonName: "b", keyType: "rsa" });
    const csr = forge.pki.certificationRequestFromPem(a.csrPem);
    csr.publicKey = forge.pki.certificationRequestFromPem(b.csrPem).publicKey;
    // forge re-serialises its cached signed part unless told otherwise
    (csr as unknown as { certificationRequestInfo: unknown }).certificationRequestInfo = null;
    const swapped = forge.pki.certificationRequestToPem(csr);
    const bKey = forge.pki.certificationRequestFromPem(b.csrPem).publicKey as forge.pki.rsa.PublicKey;
    expect((forge.pki.certificationRequestFromPem(swapped).publicKey as forge.pki.rsa.PublicKey).n.equals(bKey.n)).toBe(true);
    expect(() => signCsr(eu, swapped, { identity: coordinator, validitySeconds: 60 })).toThrow(/signature does not verify/);
  });

  it("refuses junk, weak keys and SHA-1 signatures", () => {
    expect(() => signCsr(eu, "not a csr", { identity: coordinator, validitySeconds: 60 })).toThrow(/not a parsable PKCS#10 CSR/);
    const weak = forge.pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 });
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = weak.publicKey;
    csr.setSubject([{ name: "commonName", value: "weak" }]);
    csr.sign(weak.privateKey, forge.md.sha256.create());
    expect(() => signCsr(eu, forge.pki.certificationRequestToPem(csr), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /1024 bits, at least 2048/,
    );
    const { keyPem, csrPem } = generateKeyAndCsr({ commonName: "sha1", keyType: "rsa" });
    const sha1 = forge.pki.certificationRequestFromPem(csrPem);
    sha1.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha1.create());
    expect(() => signCsr(eu, forge.pki.certificationRequestToPem(sha1), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /signature algorithm 1\.2\.840\.113549\.1\.1\.5 is not accepted/,
    );
  });

  it("ignores the subject, SANs and extensions a CSR asks for: the CA decides the identity", () => {
    const { keyPem } = generateKeyAndCsr({ commonName: "unused", keyType: "rsa" });
    const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    csr.setSubject([{ name: "commonName", value: "framefleet://eu/manager" }]);
    csr.setAttributes([
      {
        name: "extensionRequest",
        extensions: [
          {
            name: "subjectAltName",
            altNames: [
              { type: 6, value: "framefleet://eu/manager" },
              { type: 2, value: "evil.example.com" },
            ],
          },
          { name: "basicConstraints", cA: true },
          { name: "extKeyUsage", serverAuth: true, codeSigning: true },
        ],
      },
    ]);
    csr.sign(key, forge.md.sha256.create());
    const csrPem = forge.pki.certificationRequestToPem(csr);
    expect(forge.pki.certificationRequestFromPem(csrPem).getAttribute({ name: "extensionRequest" })).toBeTruthy();

    const issued = signCsr(eu, csrPem, { identity: { kind: "task", region: "eu", taskId: "t9", attempt: 2 }, validitySeconds: 60 });
    const cert = new X509Certificate(issued.certPem);
    expect(identityOf(issued.certPem)).toEqual({ kind: "task", region: "eu", taskId: "t9", attempt: 2 });
    expect(cert.subjectAltName).toBe("URI:framefleet://eu/task/t9/2");
    expect(cert.subject).toBe("CN=framefleet://eu/task/t9/2");
    expect(cert.checkHost("evil.example.com")).toBeUndefined();
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    // an RSA leaf may also encipher keys
    expect(extensionsOf(issued.certPem).keyUsage).toMatchObject({ critical: true, digitalSignature: true, keyEncipherment: true });
  });

  it("truncates a long identity URI in the CN but keeps it whole in the SAN", () => {
    const identity = { kind: "task", region: "r".repeat(20), taskId: "t".repeat(64), attempt: 7 } as const;
    const regional = createIntermediateCA(root, { region: "r".repeat(20) });
    const issued = issueKeyAndCertificate(regional, { identity, validitySeconds: 60 });
    const info = certificateInfo(issued.certPem);
    expect(info.subject).toBe(`CN=framefleet://${"r".repeat(20)}/task/${"t".repeat(64)}`.slice(0, 67));
    expect(info.uris).toEqual([`framefleet://${"r".repeat(20)}/task/${"t".repeat(64)}/7`]);
    expect(identityOf(issued.certPem)).toEqual(identity);
  });

  it("refuses identities the CA may not grant", () => {
    const { csrPem } = generateKeyAndCsr({ commonName: "x" });
    expect(() => signCsr(eu, csrPem, { identity: { kind: "coordinator", region: "us", id: "c1" }, validitySeconds: 60 })).toThrow(
      /eu intermediate cannot issue an identity in region us/,
    );
    expect(() => signCsr(eu, csrPem, { identity: { kind: "ca", region: "eu" }, validitySeconds: 60 })).toThrow(
      /cannot carry a ca identity/,
    );
    expect(() => signCsr(root, csrPem, { identity: coordinator, validitySeconds: 60 })).toThrow(
      /issued by a regional intermediate, not by the root/,
    );
    expect(() =>
      signCsr(eu, csrPem, { identity: { kind: "task", region: "eu", taskId: "../x", attempt: 1 }, validitySeconds: 60 }),
    ).toThrow(/task id/);
    expect(() => signCsr(eu, csrPem, { identity: coordinator, validitySeconds: 0 })).toThrow(/validitySeconds must be a positive number/);
  });

  it("caps a leaf's lifetime at its issuer's", () => {
    const shortEu = createIntermediateCA(root, { region: "eu", validityDays: 1 });
    const issued = issueKeyAndCertificate(shortEu, { identity: coordinator, validitySeconds: 30 * 86_400 });
    expect(issued.notAfter.getTime()).toBe(certificateInfo(shortEu.certPem).notAfter.getTime());
  });
});

describe("name constraints (defence against a leaked regional key)", () => {
  it("a leaf minted with the eu intermediate's key for another region does not verify", () => {
    const good = forgeRogueLeaf(eu, "framefleet://eu/coordinator/x"); // control: same crafting, permitted region
    const rogue = forgeRogueLeaf(eu, "framefleet://us/coordinator/x");
    expect(verifyChain(good.chainPem, root.certPem)).toBe(true);
    expect(verifyChain(rogue.chainPem, root.certPem)).toBe(false);
  });
});

describe("verifyChain", () => {
  it("rejects a path deeper than pathLen allows (a leaf posing as an intermediate)", () => {
    // a non-CA leaf cannot issue: forge a cert 'issued' by a leaf's key
    const leaf = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 600 });
    const fakeCa: CertificateAuthority = { certPem: leaf.certPem, keyPem: leaf.keyPem, chainPem: leaf.chainPem };
    expect(() => signCsr(fakeCa, generateKeyAndCsr({ commonName: "x" }).csrPem, { identity: coordinator, validitySeconds: 60 })).toThrow(
      /not a CA/,
    );
  });

  it("throws on an unusable trust root and returns false on junk", () => {
    const leaf = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 600 });
    expect(() => verifyChain(leaf.chainPem, eu.certPem)).toThrow(/self-signed CA/);
    expect(() => verifyChain(leaf.chainPem, "junk")).toThrow(PkiError);
    expect(verifyChain("junk", root.certPem)).toBe(false);
    expect(verifyChain(flipDerByte(leaf.certPem, "CERTIFICATE", 3), root.certPem, eu.certPem)).toBe(false);
    expect(verifyChain(leaf.certPem, root.certPem, eu.certPem)).toBe(true);
  });
});

describe("identityOf", () => {
  it("reads PEM and DER and rejects certificates without exactly one framefleet URI", () => {
    const leaf = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 600 });
    expect(identityOf(new X509Certificate(leaf.certPem).raw)).toEqual(coordinator);
    expect(identityOf(leaf.chainPem)).toEqual(coordinator); // first cert of a bundle
    expect(() => identityOf(root.certPem)).toThrow(/no framefleet:\/\/ URI SAN/);
    expect(() => identityOf(Buffer.from("garbage"))).toThrow(PkiError);
    expect(() => identityOf(forgeRogueLeaf(eu, "framefleet://eu/coordinator/../x").certPem)).toThrow(/path segments are not allowed/);
  });

  it("rejects a certificate with two framefleet URIs", () => {
    const keys = forge.pki.rsa.generateKeyPair({ bits: 512, e: 0x10001 }); // speed only; never trusted
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = "01";
    cert.setSubject([{ name: "commonName", value: "two" }]);
    cert.setIssuer([{ name: "commonName", value: "two" }]);
    cert.setExtensions([
      {
        name: "subjectAltName",
        altNames: [
          { type: 6, value: "framefleet://eu/manager" },
          { type: 6, value: "framefleet://eu/coordinator/c1" },
        ],
      },
    ]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    expect(() => identityOf(forge.pki.certificateToPem(cert))).toThrow(/2 framefleet:\/\/ URI SANs, expected exactly one/);
  });
});

describe("needsRotation", () => {
  it("is true in the last third of the lifetime, or once expired", () => {
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000_000);
    const cert = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 300, notBefore }).certPem;
    const at = (s: number): Date => new Date(notBefore.getTime() + s * 1000);
    expect(needsRotation(cert, at(0))).toBe(false);
    expect(needsRotation(cert, at(199))).toBe(false);
    expect(needsRotation(cert, at(200))).toBe(true);
    expect(needsRotation(cert, at(301))).toBe(true);
    expect(needsRotation(cert, at(100), 0.75)).toBe(true);
    expect(needsRotation(cert, at(100), 0.5)).toBe(false);
    expect(needsRotation(cert)).toBe(true); // it expired long ago
    expect(() => needsRotation(cert, at(0), 2)).toThrow(/remainingFraction/);
  });
});

describe("generateKeyAndCsr", () => {
  it("is fast enough to run on every join (OpenSSL keygen, not forge's JS prime search)", async () => {
    // CPU time of this (synchronous) call, not wall time: the suite shares a small machine with
    // other work, and wall time there says more about the neighbours than about this code.
    const cpuMs: number[] = [];
    for (let n = 0; n < 7; n++) {
      const t = process.cpuUsage();
      generateKeyAndCsr({ commonName: "speed" });
      const d = process.cpuUsage(t);
      cpuMs.push((d.user + d.system) / 1000);
    }
    cpuMs.sort((a, b) => a - b);
    // the default is EC P-256: key generation ~0.05 ms, the whole call ~1 ms of CPU. Bound
    // generous to stay unflaky, but far below RSA-2048 keygen (a median of ~100-150 ms).
    expect(cpuMs[3]!).toBeLessThan(30);
    const asyncCsr = await generateKeyAndCsrAsync({ commonName: "async" });
    expect(signCsr(eu, asyncCsr.csrPem, { identity: coordinator, validitySeconds: 60 }).certPem).toContain("BEGIN CERTIFICATE");
    expect(csrPublicKey(asyncCsr.csrPem).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(() => generateKeyAndCsr({ commonName: "" })).toThrow(PkiError);
    expect(() => generateKeyAndCsr({ commonName: "x", keyType: "dsa" as "rsa" })).toThrow(/keyType must be "ec" or "rsa"/);
  });

  it("still makes RSA-2048 keys on request, in forge-readable CSRs", async () => {
    const rsa = await generateKeyAndCsrAsync({ commonName: "async", keyType: "rsa" });
    const csr = forge.pki.certificationRequestFromPem(rsa.csrPem);
    expect((csr.publicKey as forge.pki.rsa.PublicKey).n.bitLength()).toBe(2048);
    expect(csr.verify()).toBe(true);
    expect(csr.subject.getField("CN").value).toBe("async");
    expect(createPrivateKey(rsa.keyPem).asymmetricKeyType).toBe("rsa");
    const issued = signCsr(eu, rsa.csrPem, { identity: coordinator, validitySeconds: 60 });
    expect(new X509Certificate(issued.certPem).publicKey.asymmetricKeyType).toBe("rsa");
    expect(new X509Certificate(issued.certPem).checkPrivateKey(createPrivateKey(rsa.keyPem))).toBe(true);
    expect(verifyChain(issued.chainPem, root.certPem)).toBe(true);
    expect(ski(issued.certPem)).toBe(keyBitsSha1(new X509Certificate(issued.certPem).publicKey));
    expect(extensionsOf(issued.certPem).keyUsage).toMatchObject({ digitalSignature: true, keyEncipherment: true });
    const server = issueKeyAndCertificate(eu, { identity: coordinator, validitySeconds: 60, keyType: "rsa" });
    expect(createPrivateKey(server.keyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(new X509Certificate(server.certPem).checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
  });
});

describe("EC P-256 leaves", () => {
  it("generates EC P-256 keys and a CSR signed with ecdsa-with-SHA256", () => {
    const { keyPem, csrPem } = generateKeyAndCsr({ commonName: "c1" });
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/); // PKCS#8
    const key = createPrivateKey(keyPem);
    expect(key.asymmetricKeyType).toBe("ec");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const inCsr = csrPublicKey(csrPem);
    expect(inCsr.asymmetricKeyType).toBe("ec");
    expect(inCsr.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(inCsr.export({ type: "spki", format: "der" }).equals(createPublicKey(key).export({ type: "spki", format: "der" }))).toBe(true);
    const [, algorithm] = csrParts(csrPem);
    const algParts = algorithm!.value as forge.asn1.Asn1[];
    expect(algParts).toHaveLength(1); // no parameters (RFC 5758)
    expect(forge.asn1.derToOid(algParts[0]!.value as string)).toBe(ECDSA_WITH_SHA256);
    // forge cannot read it, which is why signCsr does not use forge's CSR parser
    expect(() => forge.pki.certificationRequestFromPem(csrPem)).toThrow();
  });

  it("issues an EC leaf that chains to the root, with SKI from its key, AKI from the intermediate, digitalSignature only", () => {
    const { keyPem, csrPem } = generateKeyAndCsr({ commonName: "c1" });
    const issued = signCsr(eu, csrPem, { identity: coordinator, validitySeconds: 3600 });
    const cert = new X509Certificate(issued.certPem);
    const intermediate = new X509Certificate(eu.certPem);
    expect(cert.publicKey.asymmetricKeyType).toBe("ec");
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(cert.checkIssued(intermediate)).toBe(true);
    expect(cert.verify(intermediate.publicKey)).toBe(true);
    expect(cert.verify(new X509Certificate(otherEu.certPem).publicKey)).toBe(false);
    expect(verifyChain(issued.chainPem, root.certPem)).toBe(true);
    expect(verifyChain(issued.certPem, root.certPem, eu.certPem)).toBe(true);
    expect(verifyChain(issued.chainPem, otherRoot.certPem)).toBe(false);
    expect(verifyChain(issued.certPem, otherRoot.certPem, otherEu.certPem)).toBe(false);
    expect(verifyChain(flipDerByte(issued.certPem, "CERTIFICATE", 3), root.certPem, eu.certPem)).toBe(false);
    expect(identityOf(issued.certPem)).toEqual(coordinator);
    expect(certificateInfo(issued.certPem).isCA).toBe(false);

    expect(ski(issued.certPem)).toBe(keyBitsSha1(cert.publicKey));
    expect(ski(issued.certPem)).toBe(keyBitsSha1(createPublicKey(createPrivateKey(keyPem))));
    expect(aki(issued.certPem)).toBe(ski(eu.certPem));
    const exts = extensionsOf(issued.certPem);
    expect(exts.keyUsage).toMatchObject({ critical: true, digitalSignature: true, keyEncipherment: false, keyCertSign: false });
    expect(exts.basicConstraints).toMatchObject({ critical: true, cA: false });
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    // the certificate is signed by the RSA intermediate with sha256WithRSAEncryption
    const sigAlg = (forge.asn1.fromDer(cert.raw.toString("binary"), OPAQUE_BIT_STRINGS).value as forge.asn1.Asn1[])[1]!;
    expect(forge.asn1.derToOid((sigAlg.value as forge.asn1.Asn1[])[0]!.value as string)).toBe("1.2.840.113549.1.1.11");
  });

  it("issues EC server certificates with issueKeyAndCertificate", () => {
    const server = issueKeyAndCertificate(eu, {
      identity: { kind: "manager", region: "eu" },
      validitySeconds: 600,
      server: { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] },
    });
    const cert = new X509Certificate(server.certPem);
    expect(createPrivateKey(server.keyPem).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(verifyChain(server.chainPem, root.certPem)).toBe(true);
    expect(extensionsOf(server.certPem).keyUsage).toMatchObject({ digitalSignature: true, keyEncipherment: false });
  });

  it("refuses an EC CSR whose signature does not match its key (proof of possession)", () => {
    const a = generateKeyAndCsr({ commonName: "a" });
    const b = generateKeyAndCsr({ commonName: "b" });
    // b's key in a's request, a's signature
    const aParts = csrParts(a.csrPem);
    (aParts[0]!.value as forge.asn1.Asn1[])[2] = (csrParts(b.csrPem)[0]!.value as forge.asn1.Asn1[])[2]!;
    const swapped = toCsrPem(aParts);
    expect(csrPublicKey(swapped).export({ type: "spki", format: "der" })).toEqual(
      csrPublicKey(b.csrPem).export({ type: "spki", format: "der" }),
    );
    expect(() => signCsr(eu, swapped, { identity: coordinator, validitySeconds: 60 })).toThrow(/signature does not verify/);
    // signed by another key altogether
    const keys = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    expect(() =>
      signCsr(eu, handMadeCsr(keys, "sha256", ECDSA_WITH_SHA256, other.privateKey), { identity: coordinator, validitySeconds: 60 }),
    ).toThrow(/signature does not verify/);
    // the control: the same CSR signed by its own key
    expect(() => signCsr(eu, handMadeCsr(keys, "sha256", ECDSA_WITH_SHA256), { identity: coordinator, validitySeconds: 60 })).not.toThrow();
    // a signature that claims SHA-384 but was made over SHA-256
    expect(() => signCsr(eu, handMadeCsr(keys, "sha256", ECDSA_WITH_SHA384), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /signature does not verify/,
    );
  });

  it("accepts P-384 with ECDSA SHA-256/384, and refuses other curves, key types and algorithms by name", () => {
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    for (const [hash, oid] of [
      ["sha384", ECDSA_WITH_SHA384],
      ["sha256", ECDSA_WITH_SHA256],
    ] as const) {
      const issued = signCsr(eu, handMadeCsr(p384, hash, oid), { identity: coordinator, validitySeconds: 60 });
      expect(new X509Certificate(issued.certPem).publicKey.asymmetricKeyDetails?.namedCurve).toBe("secp384r1");
      expect(verifyChain(issued.chainPem, root.certPem)).toBe(true);
    }
    const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
    expect(() => signCsr(eu, handMadeCsr(k1, "sha256", ECDSA_WITH_SHA256), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /EC key is on curve secp256k1, only P-256 \(prime256v1\) and P-384 \(secp384r1\) are accepted/,
    );
    const p521 = generateKeyPairSync("ec", { namedCurve: "secp521r1" });
    expect(() => signCsr(eu, handMadeCsr(p521, "sha512", "1.2.840.10045.4.3.4"), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /curve secp521r1/,
    );
    const p256 = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    expect(() => signCsr(eu, handMadeCsr(p256, "sha1", "1.2.840.10045.4.1"), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /signature algorithm 1\.2\.840\.10045\.4\.1 is not accepted for an EC key/,
    );
    expect(() => signCsr(eu, handMadeCsr(p256, "sha256", "1.2.840.113549.1.1.11"), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /signature algorithm 1\.2\.840\.113549\.1\.1\.11 is not accepted for an EC key/,
    );
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect(() => signCsr(eu, handMadeCsr(rsa, "sha256", ECDSA_WITH_SHA256), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /signature algorithm 1\.2\.840\.10045\.4\.3\.2 is not accepted for an RSA key/,
    );
    const ed = generateKeyPairSync("ed25519");
    expect(() => signCsr(eu, handMadeCsr(ed, null, "1.3.101.112"), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /CSR key type ed25519 is not accepted/,
    );
  });

  it("still refuses an RSA-1024 CSR", () => {
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 });
    expect(() => signCsr(eu, handMadeCsr(weak, "sha256", "1.2.840.113549.1.1.11"), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /CSR key is 1024 bits, at least 2048 required/,
    );
  });

  it("refuses malformed DER around a valid key", () => {
    const { csrPem } = generateKeyAndCsr({ commonName: "c1" });
    const der = derOf(csrPem);
    const pem = (body: Buffer): string => forge.pem.encode({ type: "CERTIFICATE REQUEST", body: body.toString("binary") });
    expect(() => signCsr(eu, pem(der.subarray(0, der.length - 1)), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /not a parsable PKCS#10 CSR/,
    );
    expect(() => signCsr(eu, pem(Buffer.concat([der, Buffer.from([0])])), { identity: coordinator, validitySeconds: 60 })).toThrow(
      /not a parsable PKCS#10 CSR/,
    );
    expect(() =>
      signCsr(eu, csrPem.replace(/CERTIFICATE REQUEST/g, "CERTIFICATE"), { identity: coordinator, validitySeconds: 60 }),
    ).toThrow(/no PEM CERTIFICATE REQUEST block/);
  });
});
