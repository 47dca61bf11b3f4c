import { spawn } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, chmodSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createIntermediateCA, PkiError } from "./ca.js";
import { certificateInfo, identityOf, verifyChain } from "./inspect.js";
import { loadOrCreateRegionPki } from "./region-files.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "framefleet-pki-"));
  dirs.push(dir);
  return join(dir, "pki"); // not created yet: the function creates it
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string): number => statSync(path).mode & 0o777;
const fingerprint = (pem: string): string => certificateInfo(pem).fingerprintSha256;

describe("loadOrCreateRegionPki", () => {
  it("creates everything on first run with 0700 dirs and 0600 files, and loads the same on the second", () => {
    const dir = tempDir();
    const first = loadOrCreateRegionPki(dir, "local");
    const files = [
      "root-ca.pem",
      "root-ca.key",
      "local/intermediate-ca.pem",
      "local/intermediate-ca.key",
      "local/manager.pem",
      "local/manager.key",
    ];
    for (const f of files) expect(mode(join(dir, f)), f).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, "local"))).toBe(0o700);
    expect(existsSync(join(dir, ".lock"))).toBe(false);

    expect(first.trustPem).toBe(first.root.certPem);
    expect(identityOf(first.intermediate.certPem)).toEqual({ kind: "ca", region: "local" });
    expect(identityOf(first.manager.certPem)).toEqual({ kind: "manager", region: "local" });
    expect(verifyChain(first.manager.chainPem, first.trustPem)).toBe(true);
    const manager = new X509Certificate(first.manager.certPem);
    expect(manager.checkHost("localhost")).toBe("localhost");
    expect(manager.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(manager.checkIP("::1")).toBe("::1");
    expect(readFileSync(join(dir, "root-ca.key"), "utf8")).toBe(first.root.keyPem);

    const second = loadOrCreateRegionPki(dir, "local");
    expect(fingerprint(second.root.certPem)).toBe(fingerprint(first.root.certPem));
    expect(second.root.keyPem).toBe(first.root.keyPem);
    expect(fingerprint(second.intermediate.certPem)).toBe(fingerprint(first.intermediate.certPem));
    expect(second.manager.certPem).toBe(first.manager.certPem); // not rotated: nothing changed
    expect(second.manager.keyPem).toBe(first.manager.keyPem);
    expect(second.intermediate.chainPem).toBe(first.intermediate.chainPem);
  });

  it("reissues only the manager cert when the requested DNS names change", () => {
    const dir = tempDir();
    const first = loadOrCreateRegionPki(dir, "local");
    const second = loadOrCreateRegionPki(dir, "local", { extraDnsNames: ["manager.internal"] });
    expect(fingerprint(second.root.certPem)).toBe(fingerprint(first.root.certPem));
    expect(fingerprint(second.intermediate.certPem)).toBe(fingerprint(first.intermediate.certPem));
    expect(second.manager.certPem).not.toBe(first.manager.certPem);
    expect(new X509Certificate(second.manager.certPem).checkHost("manager.internal")).toBe("manager.internal");
    const third = loadOrCreateRegionPki(dir, "local", { extraDnsNames: ["manager.internal"] });
    expect(third.manager.certPem).toBe(second.manager.certPem);
  });

  it("rotates an intermediate in the last third of its life, and the manager cert with it, keeping the root", () => {
    const dir = tempDir();
    const first = loadOrCreateRegionPki(dir, "local");
    // an intermediate with ~9 s left of ~69 s (60 s backdating): due for rotation
    const dying = createIntermediateCA(first.root, { region: "local", validityDays: 0.0001 });
    writeFileSync(join(dir, "local/intermediate-ca.pem"), dying.chainPem);
    writeFileSync(join(dir, "local/intermediate-ca.key"), dying.keyPem);
    const second = loadOrCreateRegionPki(dir, "local");
    expect(fingerprint(second.root.certPem)).toBe(fingerprint(first.root.certPem));
    expect(fingerprint(second.intermediate.certPem)).not.toBe(fingerprint(dying.certPem));
    expect(certificateInfo(second.intermediate.certPem).notAfter.getTime() - Date.now()).toBeGreaterThan(364 * 86_400_000);
    const manager = new X509Certificate(second.manager.certPem);
    expect(manager.checkIssued(new X509Certificate(second.intermediate.certPem))).toBe(true);
    expect(verifyChain(second.manager.chainPem, second.trustPem)).toBe(true);
    // leaves of the old intermediate still verify against the unchanged root
    expect(verifyChain(first.manager.chainPem, second.trustPem)).toBe(true);
  });

  it("replaces a damaged intermediate or manager key, but never a root", () => {
    const dir = tempDir();
    const first = loadOrCreateRegionPki(dir, "local");
    writeFileSync(join(dir, "local/manager.key"), "garbage");
    const second = loadOrCreateRegionPki(dir, "local");
    expect(second.manager.keyPem).not.toBe("garbage");
    expect(new X509Certificate(second.manager.certPem).checkPrivateKey(createPrivateKey(second.manager.keyPem))).toBe(true);
    expect(fingerprint(second.root.certPem)).toBe(fingerprint(first.root.certPem));

    unlinkSync(join(dir, "root-ca.key"));
    expect(() => loadOrCreateRegionPki(dir, "local")).toThrow(PkiError);
    expect(() => loadOrCreateRegionPki(dir, "local")).toThrow(/root CA in .* is incomplete .*root-ca\.key is missing/);
    expect(existsSync(join(dir, "root-ca.key"))).toBe(false); // not regenerated behind the operator's back
    expect(existsSync(join(dir, ".lock"))).toBe(false); // released on error
  });

  it("tightens loosened file modes and keeps other regions apart under the same root", () => {
    const dir = tempDir();
    const local = loadOrCreateRegionPki(dir, "local");
    chmodSync(join(dir, "root-ca.key"), 0o644);
    const other = loadOrCreateRegionPki(dir, "eu-west");
    expect(mode(join(dir, "root-ca.key"))).toBe(0o600);
    expect(fingerprint(other.root.certPem)).toBe(fingerprint(local.root.certPem));
    expect(identityOf(other.manager.certPem)).toEqual({ kind: "manager", region: "eu-west" });
    expect(verifyChain(other.manager.chainPem, local.trustPem)).toBe(true);
    expect(() => loadOrCreateRegionPki(dir, "../escape")).toThrow(/region "\.\.\/escape" must match/);
  });

  it("creates a single root when two processes start at once", async () => {
    const dir = tempDir();
    const script = join(fileURLToPath(new URL(".", import.meta.url)), "region-files.ts");
    const run = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const code = `import { loadOrCreateRegionPki } from ${JSON.stringify(script)}; process.stdout.write(loadOrCreateRegionPki(${JSON.stringify(dir)}, "local").root.certPem);`;
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", reject);
        child.on("close", (status) => (status === 0 ? resolve(out) : reject(new Error(`exit ${status}: ${err}`))));
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect(a).toContain("BEGIN CERTIFICATE");
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(readFileSync(join(dir, "root-ca.pem"), "utf8"))).toBe(fingerprint(a));
  });
});
