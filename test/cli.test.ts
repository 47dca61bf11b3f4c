// The `framefleet` command as a user runs it: real processes, real ports.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./support/db.js";

const run = promisify(execFile);
const CLI = path.join(__dirname, "..", "bin", "framefleet.js");

async function cli(
  args: string[],
  env: Record<string, string> = {},
  timeout = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("framefleet start: clear messages when it cannot start", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-cli-"));
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("names an unreachable database", async () => {
    const r = await cli(["start", "--data-dir", dataDir, "--http-port", "0", "--grpc-port", "0", "--join-port", "0"], {
      DATABASE_URL: "postgres://nobody:x@127.0.0.1:1/none",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
  });

  it("names a missing ffmpeg", async () => {
    const r = await cli(["start", "--data-dir", dataDir], { FRAMEFLEET_FFMPEG: "/nonexistent/ffmpeg" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ffmpeg: FRAMEFLEET_FFMPEG=\/nonexistent\/ffmpeg is not an executable file/);
  });

  it("names a port in use", async () => {
    const { url, drop } = await createTestDatabase("cli");
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await cli(["start", "--data-dir", dataDir, "--http-port", String(busy), "--grpc-port", "0", "--join-port", "0"], {
        DATABASE_URL: url,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`REST port 127\\.0\\.0\\.1:${busy} is already in use`));
    } finally {
      blocker.close();
      await drop();
    }
  });
});

describe("framefleet start, apikey, submit --watch, jobs, cancel", () => {
  it("runs a region and a job through the command line", async () => {
    const { url, drop } = await createTestDatabase("cli2");
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-cli-"));
    const region = spawn(
      process.execPath,
      [CLI, "start", "--data-dir", dataDir, "--http-port", "0", "--grpc-port", "0", "--join-port", "0", "--idle-timeout", "3"],
      { env: { ...process.env, DATABASE_URL: url }, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let out = "";
      region.stdout!.on("data", (d) => (out += d));
      region.stderr!.on("data", () => {});
      for (let i = 0; i < 900 && !out.includes("is up"); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/framefleet region "local" is up/);
      const key = await cli(["apikey", "create", "--data-dir", dataDir, "--tenant", "acme", "--role", "submitter", "--save"]);
      expect(key.code).toBe(0);
      expect(key.stdout.trim()).toMatch(/^ffk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      const bad = await cli(["apikey", "create", "--data-dir", dataDir, "--tenant", "Bad Tenant!"]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/tenant "Bad Tenant!" must be/);

      const src = path.join(dataDir, "store", "inputs", "clip.mp4");
      fs.mkdirSync(path.dirname(src), { recursive: true });
      await run("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-y", src]);
      const comp = path.join(dataDir, "job.json");
      fs.writeFileSync(
        comp,
        JSON.stringify({
          apiVersion: "framefleet/v1",
          engine: { name: "ffmpeg", version: "5.1" },
          input: { uri: "store://local/inputs/clip.mp4" },
          output: { uri: "store://local/outputs/cli/" },
          video: {
            renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 300, maxrateKbps: 450 } }],
          },
          packaging: { mp4: {} },
        }),
      );
      const sub = await cli(["submit", comp, "--watch", "--data-dir", dataDir], {}, 180_000);
      expect(sub.stdout).toMatch(/^[0-9a-f-]{36}\nsucceeded\n$/);
      expect(sub.code).toBe(0);
      const jobs = await cli(["jobs", "--data-dir", dataDir]);
      expect(jobs.stdout).toContain(sub.stdout.split("\n")[0]);
      const cancel = await cli(["cancel", sub.stdout.split("\n")[0]!, "--data-dir", dataDir]);
      expect(cancel.code).toBe(1);
      expect(cancel.stderr).toMatch(/409/);
      fs.writeFileSync(
        comp,
        JSON.stringify({
          apiVersion: "framefleet/v1",
          engine: { name: "ffmpeg", version: "5.1" },
          input: { uri: "file:///etc/passwd" },
          output: { uri: "store://local/o/" },
          video: { renditions: [{ name: "a", height: 240, rateControl: { mode: "vbr", bitrateKbps: 300 } }] },
        }),
      );
      const refused = await cli(["submit", comp, "--data-dir", dataDir]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/\/composition\/input\/uri/);

      // the engine registry: the region registered this host's ffmpeg; an image needs an operator key and a digest
      const engines = await cli(["engine", "list", "--data-dir", dataDir]);
      expect(engines.code, engines.stderr).toBe(0);
      expect(engines.stdout).toMatch(/^ffmpeg\s+5\.1\.\d+\s+(cpu|any)\s+\(host binaries\)$/m);
      const op = await cli(["apikey", "create", "--data-dir", dataDir, "--tenant", "acme", "--role", "operator"]);
      const opKey = op.stdout.trim();
      const asOperator = ["--data-dir", dataDir, "--key", opKey];
      const tagged = await cli(["engine", "register", "ffmpeg", "5.1.9", "--image", "ffmpeg:latest", ...asOperator]);
      expect(tagged.code).toBe(1);
      expect(tagged.stderr).toMatch(/\/image: engine images are pinned by digest/);
      const image = `registry.local/engine-ffmpeg@sha256:${"c".repeat(64)}`;
      const registered = await cli(["engine", "register", "ffmpeg", "5.1.99", "--image", image, ...asOperator]);
      expect(registered.stdout).toBe(`registered ffmpeg 5.1.99 ${image}\n`);
      expect((await cli(["engine", "list", "--data-dir", dataDir])).stdout).toContain(image);
    } finally {
      region.kill("SIGTERM");
      await new Promise((r) => region.once("exit", r));
      await drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
