// Azurite: Microsoft's own Azure Storage emulator (npm `azurite`, a dev dependency), run
// as a child process on a free loopback port with in-memory storage, for the Azure tests.
// Unlike the hand-written fake it is the emulator Microsoft maintains against the Blob
// REST API: it checks Shared Key request signatures and recomputes SAS signatures itself
// (service SAS with the account key; user-delegation SAS with the key it hands out under
// OAuth), and implements blocks, ranged reads, copy and listing as the service does.
//
// Each start gets its own account with a random key (AZURITE_ACCOUNTS), so nothing can
// pass by knowing the emulator's well-known devstoreaccount1 key. Telemetry is disabled
// (--disableTelemetry): Azurite otherwise tries to reach Application Insights.
//
// With `https` it serves TLS with a certificate made here and accepts OAuth bearer tokens
// (`--oauth basic`): Azurite checks a token's audience, issuer and expiry but not its
// signature, which is what lets a test drive the Azure AD path without Entra ID.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { canConnect, freePort } from "./net.js";
import { loadOrCreateRegionPki } from "../../runtime/pki/index.js";
import { createRequire } from "node:module";

export interface Azurite {
  /** blob endpoint with the account as the first path segment: http(s)://127.0.0.1:<port>/<account> */
  endpoint: string;
  account: string;
  accountKey: string;
  /** PEM of the TLS certificate when started with `https` (clients must trust it) */
  caPem?: string;
  stop(): Promise<void>;
}

/**
 * A server certificate for 127.0.0.1 from the embedded region PKI (the manager's, which
 * names 127.0.0.1): the clients trust its root, as they would the region's.
 */
function serverCertificate(dir: string): { cert: string; key: string; pem: string } {
  const pki = loadOrCreateRegionPki(path.join(dir, "pki"), "azurite");
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  fs.writeFileSync(cert, pki.manager.chainPem);
  fs.writeFileSync(key, pki.manager.keyPem, { mode: 0o600 });
  return { cert, key, pem: pki.trustPem };
}

export async function startAzurite(opts: { https?: boolean; account?: string } = {}): Promise<Azurite> {
  const account = opts.account ?? "acmemedia";
  const accountKey = randomBytes(64).toString("base64");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ff-azurite-"));
  const port = await freePort();
  const bin = path.join(path.dirname(createRequire(import.meta.url).resolve("azurite/package.json")), "dist/src/blob/main.js");
  if (!fs.existsSync(bin)) throw new Error(`azurite is not installed (${bin} missing): it is a dev dependency, run npm ci`);
  const args = [
    bin,
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    String(port),
    "--inMemoryPersistence",
    "--disableTelemetry",
    "--skipApiVersionCheck",
    "--disableProductStyleUrl",
    "--silent",
  ];
  let caPem: string | undefined;
  if (opts.https) {
    const tls = serverCertificate(dir);
    caPem = tls.pem;
    args.push("--cert", tls.cert, "--key", tls.key, "--oauth", "basic");
  }
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, AZURITE_ACCOUNTS: `${account}:${accountKey}` },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // generous: on a loaded two-core machine azurite takes tens of seconds to load its modules
  const end = Date.now() + 120_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`azurite exited (code ${child.exitCode}) before listening: ${stderr}`);
    if (Date.now() > end) {
      child.kill("SIGTERM");
      throw new Error(`azurite did not listen on ${port} within 120 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint: `${opts.https ? "https" : "http"}://127.0.0.1:${port}/${account}`,
    account,
    accountKey,
    caPem,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
