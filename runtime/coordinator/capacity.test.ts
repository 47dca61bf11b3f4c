import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { discoverCapacity, parseNvidiaSmi } from "./capacity.js";

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
});
