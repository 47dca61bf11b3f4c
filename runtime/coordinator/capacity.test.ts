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

  it("reports this host's cores, memory and the ffmpeg it can run", async () => {
    const c = await discoverCapacity();
    expect(c.cpuMillis).toBeGreaterThanOrEqual(1000);
    expect(c.memoryMb).toBeGreaterThan(256);
    expect(c.engines[0]?.name).toBe("ffmpeg");
    expect(c.engines[0]?.version).toMatch(/^\d+\.\d+/);
    expect(c.engines[0]?.encoders).toContain("libx264");
  });
});
