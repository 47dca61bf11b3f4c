// The container runner end to end: a real region whose local coordinator runs with
// FRAMEFLEET_RUNNER=container, the CPU engine image built and registered, a short
// HLS + DASH ladder encoded inside the image and checked from the outside; then a
// cancelled job that must leave no container and no scratch behind.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { ensureEngineImage, type BuiltImage } from "./support/images.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";
import { registerEngine } from "../runtime/manager/store/engines.js";
import { findContainerCli, type ContainerCli } from "../runtime/worker/container-cli.js";
import { parseMasterPlaylist } from "../runtime/engine/hls.js";
import { demoEngineImage } from "../runtime/cli/demo.js";

let region: TestRegion;
let image: BuiltImage;
let cli: ContainerCli;
let key: string;

beforeAll(async () => {
  cli = await findContainerCli(); // fails with the install line when neither podman nor docker is installed
  image = await ensureEngineImage();
  region = await startTestRegion({ runner: "container", idleTimeoutMs: 60_000 });
  const l = (k: string) => image.labels[`io.framefleet.engine.${k}`] ?? "";
  await registerEngine(region.manager.db, {
    name: l("name") || "ffmpeg",
    version: l("version"),
    image: image.pinned,
    encoders: l("encoders")
      .split(/[,\s]+/)
      .filter(Boolean),
    hwaccels: l("hwaccels")
      .split(/[,\s]+/)
      .filter(Boolean),
    hardware: "cpu",
    registeredBy: "test",
  });
  key = await region.key("acme", "submitter");
  await makeTestSource(path.join(region.storeRoot, "inputs", "clip.mp4"), { seconds: 4, width: 1280, height: 720, fps: 25, audio: true });
  await makeTestSource(path.join(region.storeRoot, "inputs", "long.mp4"), { seconds: 60, width: 1280, height: 720, fps: 25, audio: false });
}, 30 * 60_000);
afterAll(async () => {
  await region?.cleanup();
});

const TERMINAL = ["succeeded", "failed", "partial", "cancelled"];

// the demo ladder itself (examples/compositions/hls-dash-ladder.json: 1080p down to 240p plus AAC) on a
// short 720p source, so the 1080p rendition is skipped as above the source, as the demo's policy says
const ladder = {
  ...(JSON.parse(
    fs.readFileSync(path.join(import.meta.dirname, "..", "examples", "compositions", "hls-dash-ladder.json"), "utf8"),
  ) as Record<string, unknown> & { video: { renditions: Record<string, unknown>[] } & Record<string, unknown> }),
  input: { uri: "store://local/inputs/clip.mp4" },
  output: { uri: "store://local/outputs/ladder/" },
};

function containers(filter: string): string[] {
  return execFileSync(cli.path, ["ps", "-a", "--format", "{{.Names}}", "--filter", filter]).toString().split("\n").filter(Boolean);
}

function ffprobe(file: string) {
  return JSON.parse(execFileSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", file]).toString());
}

describe("the container runner in a region", () => {
  it("encodes the ladder inside the engine image, pinned by digest, with the digest in every engine audit record", async () => {
    const submitted = await region.api("/v1/jobs", { method: "POST", key, json: { composition: ladder } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id as string;
    const job = await waitFor(
      "the ladder job to finish",
      async () => {
        const r = await region.api(`/v1/jobs/${id}`, { key });
        return TERMINAL.includes(r.body.state) ? r.body : undefined;
      },
      600_000,
      500,
    );
    expect(job.state, JSON.stringify(job, null, 2)).toBe("succeeded");

    // every engine task ran in the registered image; none on the host's ffmpeg
    const audit = await region.api(`/v1/jobs/${id}/audit?limit=1000`, { key });
    const engines = audit.body.records.filter((r: { kind: string }) => r.kind === "engine");
    expect(engines.length).toBeGreaterThanOrEqual(8); // probe, 4 video encodes, audio, package, verify
    for (const e of engines)
      expect(e.data).toMatchObject({ runner: "container", image: image.pinned, imageDigest: image.digest, network: false });
    const argvs = audit.body.records.filter((r: { kind: string }) => r.kind === "ffmpeg.argv");
    expect(argvs.length).toBeGreaterThan(0);
    for (const a of argvs) expect(a.data.argv[0]).toBe("ffmpeg");

    // checked from outside: HLS master and media playlists, the MPD, decodable segments
    const out = path.join(region.storeRoot, "outputs", "ladder");
    const files = fs.readdirSync(out, { recursive: true }).map(String);
    const master = files.find((f) => f.endsWith("master.m3u8"));
    expect(master, files.join(", ")).toBeDefined();
    const m = parseMasterPlaylist(fs.readFileSync(path.join(out, master!), "utf8"));
    expect(m.variants.map((v) => Number(v.RESOLUTION?.split("x")[1])).sort((a, b) => a - b)).toEqual([240, 360, 480, 720]);
    const mpd = files.find((f) => f.endsWith(".mpd"));
    expect(mpd).toBeDefined();
    const doc = new XMLParser({ ignoreAttributes: false }).parse(fs.readFileSync(path.join(out, mpd!), "utf8"));
    expect(doc.MPD).toBeDefined();
    const heights = [...JSON.stringify(doc).matchAll(/"@_height":"(\d+)"/g)].map((x) => Number(x[1]));
    expect([...new Set(heights)].sort((a, b) => a - b)).toEqual([240, 360, 480, 720]);
    for (const v of m.variants) {
      // each variant playlist, read as a player would, decodes at its advertised height
      const playlist = path.join(out, path.dirname(master!), v.uri);
      const height = Number(v.RESOLUTION!.split("x")[1]);
      const streams = ffprobe(playlist).streams as { codec_type: string; height?: number }[];
      expect(streams.find((st) => st.codec_type === "video")?.height, v.uri).toBe(height);
      execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", playlist, "-map", "0", "-f", "null", "-"]);
    }
    // no container of this job's tasks is left (other test files may run containers meanwhile)
    for (const t of job.tasks as { id: string }[]) expect(containers(`label=io.framefleet.task=${t.id}`), t.id).toEqual([]);
  }, 900_000);

  it("a cancelled job leaves no container and no scratch behind", async () => {
    const long = {
      ...ladder,
      input: { uri: "store://local/inputs/long.mp4" },
      output: { uri: "store://local/outputs/long/" },
      video: { ...ladder.video, preset: "slow", renditions: [ladder.video.renditions.find((r) => r.name === "360p")!] },
      audio: undefined,
    };
    const submitted = await region.api("/v1/jobs", { method: "POST", key, json: { composition: long } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id as string;
    const workRoots = path.join(region.dataDir, "coordinators");
    const scratch = (taskId: string) =>
      fs
        .readdirSync(workRoots, { recursive: true })
        .map(String)
        .filter((p) => path.basename(p).startsWith(`${taskId}-`));
    // the encode's task id, once it runs in a container with its scratch on the host
    const encodeId = await waitFor(
      "the encode to run in a container",
      async () => {
        const r = await region.api(`/v1/jobs/${id}`, { key });
        const enc = r.body.tasks.find((t: { key: string; state: string }) => t.key.startsWith("encode:") && t.state === "running");
        return enc && containers(`label=io.framefleet.task=${enc.id}`).length > 0 && scratch(enc.id).length > 0
          ? (enc.id as string)
          : undefined;
      },
      300_000,
      300,
    );
    const cancelled = await region.api(`/v1/jobs/${id}/cancel`, { method: "POST", key });
    expect(cancelled.status).toBe(202);
    await waitFor(
      "the encode's containers to be removed",
      async () => containers(`label=io.framefleet.task=${encodeId}`).length === 0,
      60_000,
    );
    await waitFor("the encode's scratch to be removed", async () => scratch(encodeId).length === 0, 60_000);
    expect(scratch(encodeId)).toEqual([]);
  }, 600_000);
});

describe("framefleet demo --runner container", () => {
  it("needs the images manifest, and says how to make it when it is missing or lacks the engine image", () => {
    expect(() => demoEngineImage("/nonexistent/images.json")).toThrow(
      /--runner container needs the engine image, and \/nonexistent\/images.json cannot be read \(ENOENT\): build the images first with: npm run images:build/,
    );
    const file = path.join(region.dataDir, "images.json");
    fs.writeFileSync(file, JSON.stringify({ cli: "podman", images: {} }));
    expect(() => demoEngineImage(file)).toThrow(/lists no engine-ffmpeg image: build it with: npm run images:build/);
    fs.writeFileSync(file, JSON.stringify({ cli: "podman", images: { "engine-ffmpeg": image } }));
    expect(demoEngineImage(file)).toEqual({ pinned: image.pinned, labels: image.labels });
  });
});
