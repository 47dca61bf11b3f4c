// CertificateAuthority under Pulumi mocks (pulumi.runtime.setMocks). Dynamic
// providers do not run under mocks, so the mock's newResource calls the very
// provider object the resource serializes (pkiProvider.create), which in turn
// runs runtime/pki: the certificates below are real, and the chain is checked
// with node:crypto. The recorder asserts which inputs/outputs are secrets.
import { describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { installRecorder, unwrapSecrets, valueOf } from "../../stacks/synth/recorder.js";
import { CertificateAuthority, GeneratedSecret, pkiProvider, generatedSecretProvider, validateCaArgs, type PkiInputs } from "./index.js";
import * as pulumi from "@pulumi/pulumi";

// A dynamic provider receives plain values; the mock sees secrets in wire form, so unwrap them first.
async function runProviders(mock: pulumi.runtime.MockResourceArgs): Promise<Record<string, unknown> | undefined> {
  const args = { ...mock, inputs: unwrapSecrets(mock.inputs, "", []) as Record<string, unknown> };
  if (args.type === "pulumi-nodejs:dynamic/framefleet-pki:Certificate")
    return { ...(await pkiProvider.create(args.inputs as unknown as PkiInputs)).outs };
  if (args.type === "pulumi-nodejs:dynamic/framefleet-pki:GeneratedSecret")
    return { ...(await generatedSecretProvider.create(args.inputs as unknown as { bytes: number; generation: number })).outs };
  return undefined;
}
const secret = (o: pulumi.Output<unknown>) => pulumi.isSecret(o);

describe("CertificateAuthority", () => {
  it("creates root -> regional intermediate -> manager server cert, with private keys as secrets", async () => {
    const rec = await installRecorder({ newResource: runProviders });
    const ca = new CertificateAuthority("acme", {
      root: { commonName: "acme framefleet root" },
      region: "eu-west-1",
      manager: { dnsNames: ["manager.eu-west-1.acme.example"], ipAddresses: ["203.0.113.10"] },
    });
    const [rootPem, interPem, serverPem, interKey] = await Promise.all([
      valueOf(ca.root.certPem),
      valueOf(ca.intermediate!.certPem),
      valueOf(ca.managerCert!.certPem),
      valueOf(ca.intermediate!.keyPem),
    ]);
    await rec.settle();
    const root = new X509Certificate(rootPem);
    const inter = new X509Certificate(interPem);
    const server = new X509Certificate(serverPem);
    expect(inter.verify(root.publicKey)).toBe(true);
    expect(server.verify(inter.publicKey)).toBe(true);
    expect(server.subjectAltName).toContain("manager.eu-west-1.acme.example");
    expect(server.subjectAltName).toContain("203.0.113.10");
    expect(server.subjectAltName).toContain("framefleet://eu-west-1/manager");
    expect(interKey).toMatch(/PRIVATE KEY/);

    // every private key is a Pulumi secret
    expect(await secret(ca.root.keyPem)).toBe(true);
    expect(await secret(ca.intermediate!.keyPem)).toBe(true);
    expect(await secret(ca.managerCert!.keyPem)).toBe(true);
    expect(await secret(ca.intermediate!.certPem)).toBe(false);

    const certs = rec.ofType("pulumi-nodejs:dynamic/framefleet-pki:Certificate");
    expect(certs.map((c) => c.inputs.kind)).toEqual(["root", "intermediate", "server"]);
    // issuer keys travel to the provider as secrets
    expect(certs[1]!.secretPaths).toContain("issuerKeyPem");
    expect(certs[2]!.secretPaths).toContain("issuerKeyPem");
    // the provider is serialized into the resource, as on a real `pulumi up`
    expect(typeof certs[0]!.inputs.__provider).toBe("string");
  });

  it("replaces (never updates) a certificate when its subject or validity changes", async () => {
    const olds = {
      kind: "intermediate",
      pkiModule: "/a",
      region: "eu-west-1",
      validityDays: 365,
      certPem: "",
      keyPem: "",
      chainPem: "",
      notAfter: "",
    } as const;
    const same = await pkiProvider.diff!("id", olds, { ...olds, pkiModule: "/elsewhere" });
    expect(same.changes).toBe(false);
    const d = await pkiProvider.diff!("id", olds, { ...olds, validityDays: 180 });
    expect(d).toMatchObject({ changes: true, replaces: ["validityDays"] });
  });

  it("reuses an existing root (control-plane stack) and validates its arguments", async () => {
    expect(() => validateCaArgs({ root: { commonName: "" } })).toThrow(/framefleet:pki.rootCommonName/);
    expect(() => validateCaArgs({ root: { commonName: "x" }, region: "EU_WEST" })).toThrow(/framefleet:region/);
    expect(() => validateCaArgs({ root: { commonName: "x" }, manager: { dnsNames: [], ipAddresses: [] } })).toThrow(/framefleet:region/);
    const rec = await installRecorder();
    const ca = new CertificateAuthority("r", { root: { certPem: "ROOT", keyPem: "KEY" }, region: "westeurope" });
    await rec.settle();
    expect(await secret(ca.root.keyPem)).toBe(true);
    expect(rec.ofType("pulumi-nodejs:dynamic/framefleet-pki:Certificate").map((c) => c.inputs.kind)).toEqual(["intermediate"]);
  });

  it("generates secrets once, as secrets", async () => {
    const rec = await installRecorder({ newResource: runProviders });
    const s = new GeneratedSecret("db-password", { bytes: 24 });
    const v = await valueOf(s.secret);
    await rec.settle();
    expect(v).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await secret(s.secret)).toBe(true);
  });
});
