import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { discoverCapacity, discoverImageEngines, parseNvidiaSmi } from "./capacity.js";
import { findContainerCli } from "../worker/container-cli.js";
import { ensureEngineImage } from "../../test/support/images.js";

describe("capacity discovery", () => {
  it("parses nvidia-smi's CSV, one GPU a line", () => {
    const csv = "0, NVIDIA H100 80GB HBM3, 81559, GPU-4f3c\n1, NVIDIA L4, 23034, GPU-9a1b\n";
    expect(parseNvidiaSmi(csv)).toEqual([
      { index: 0, name: "NVIDIA H100 80GB HBM3", memoryMb: 81559, uuid: "GPU-4f3c" },
      { index: 1, name: "NVIDIA L4", memoryMb: 23034, uuid: "GPU-9a1b" },
    ]);
    expect(parseNvidiaSmi("No devices were found\n")).toEqual([]);
  });

  it("parses what nvidia-smi printed on a real H100 host (captured on the accelerator machine)", () => {
    const csv = fs.readFileSync(path.join(__dirname, "fixtures", "nvidia-smi-h100.csv"), "utf8");
    const gpus = parseNvidiaSmi(csv);
    expect(gpus).toHaveLength(1);
    expect(gpus[0]).toMatchObject({ index: 0, name: "NVIDIA H100 80GB HBM3", memoryMb: 81559 });
    expect(gpus[0]!.uuid).toMatch(/^GPU-[0-9a-f-]{36}$/);
  });

  it("reports this host's cores, memory and the ffmpeg it can run", async () => {
    const c = await discoverCapacity();
    expect(c.cpuMillis).toBeGreaterThanOrEqual(1000);
    expect(c.memoryMb).toBeGreaterThan(256);
    expect(c.engines[0]?.name).toBe("ffmpeg");
    expect(c.engines[0]?.version).toMatch(/^\d+\.\d+/);
    expect(c.engines[0]?.encoders).toContain("libx264");
  });

  it(
    "with the container runner, reports the engine images it holds (by digest) instead of the host's ffmpeg",
    async () => {
      const cli = await findContainerCli();
      const image = await ensureEngineImage();
      const held = await discoverImageEngines(cli);
      const engine = held.find((e) => e.imageDigest === image.digest);
      expect(engine, JSON.stringify(held)).toEqual({
        name: "ffmpeg",
        version: image.labels["io.framefleet.engine.version"],
        encoders: image.labels["io.framefleet.engine.encoders"]!.split(","),
        hwaccels: [],
        imageDigest: image.digest,
      });
      const c = await discoverCapacity({ containerCli: cli });
      expect(c.pullsImages).toBe(true);
      expect(c.engines.every((e) => /^sha256:[0-9a-f]{64}$/.test(e.imageDigest ?? ""))).toBe(true);
      expect(c.engines.map((e) => e.imageDigest)).toContain(image.digest);
    },
    30 * 60_000,
  );
});
