// What this host offers: cores, memory, NVIDIA GPUs (through nvidia-smi when it
// is installed) and the engines it can run.
import os from "node:os";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { discoverEngines } from "../engine/discover.js";

const run = promisify(execFile);

export interface GpuDevice {
  index: number;
  name: string;
  memoryMb: number;
  uuid: string;
}

export interface HostCapacity {
  cpuMillis: number;
  memoryMb: number;
  gpus: GpuDevice[];
  engines: { name: string; version: string; encoders: string[]; hwaccels: string[] }[];
}

/** Parses `nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(csv: string): GpuDevice[] {
  return csv
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [index, name, mem, uuid] = l.split(",").map((x) => x.trim());
      return { index: Number(index), name: name ?? "", memoryMb: Number(mem), uuid: uuid ?? "" };
    })
    .filter((g) => Number.isInteger(g.index) && Number.isFinite(g.memoryMb));
}

export async function discoverGpus(nvidiaSmi = "nvidia-smi"): Promise<GpuDevice[]> {
  try {
    const { stdout } = await run(nvidiaSmi, ["--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader,nounits"], {
      timeout: 10_000,
    });
    return parseNvidiaSmi(stdout);
  } catch {
    return []; // no driver, no GPUs: a CPU host
  }
}

export async function discoverCapacity(
  opts: { cpuMillis?: number; memoryMb?: number; ffmpegPath?: string; ffprobePath?: string } = {},
): Promise<HostCapacity> {
  const [gpus, engines] = await Promise.all([
    discoverGpus(),
    discoverEngines({ ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath }).catch(() => []),
  ]);
  return {
    cpuMillis: opts.cpuMillis ?? os.availableParallelism() * 1000,
    memoryMb: opts.memoryMb ?? Math.floor(os.totalmem() / 1024 / 1024),
    gpus,
    engines: engines.map((e) => ({ name: e.name, version: e.version, encoders: e.encoders, hwaccels: e.hwaccels })),
  };
}
