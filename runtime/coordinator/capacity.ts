// What this host offers: cores, memory, NVIDIA GPUs (through nvidia-smi when it
// is installed) and the engines it can run.
import os from "node:os";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { discoverEngines } from "../engine/discover.js";
import { runProcess } from "../engine/proc.js";
import type { ContainerCli } from "../worker/container-cli.js";

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
  engines: { name: string; version: string; encoders: string[]; hwaccels: string[]; imageDigest?: string }[];
  /** engines run from images (container runner): this host can pull any registered one */
  pullsImages?: boolean;
}

export const ENGINE_LABEL = "io.framefleet.engine.";

const list = (v: string | undefined) =>
  (v ?? "")
    .split(/[,\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * The engine images this host already holds: local images labelled
 * io.framefleet.engine.{name,version,encoders,hwaccels}, reported with their
 * digest so the scheduler can prefer a host that need not pull.
 */
export async function discoverImageEngines(cli: ContainerCli): Promise<HostCapacity["engines"]> {
  const ids = await runProcess(cli.path, ["images", "-q", "--no-trunc", "--filter", `label=${ENGINE_LABEL}name`]);
  if (ids.code !== 0) throw new Error(`${cli.kind} images failed: ${ids.stderr.trim().split("\n").pop()}`);
  const unique = [
    ...new Set(
      ids.stdout
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  ];
  if (unique.length === 0) return [];
  const r = await runProcess(cli.path, ["image", "inspect", "--format", "{{json .RepoDigests}} {{json .Config.Labels}}", ...unique]);
  if (r.code !== 0) throw new Error(`${cli.kind} image inspect failed: ${r.stderr.trim().split("\n").pop()}`);
  const out: HostCapacity["engines"] = [];
  const seen = new Set<string>();
  for (const line of r.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const sp = line.indexOf(" ");
    const repoDigests = (JSON.parse(line.slice(0, sp)) as string[] | null) ?? [];
    const labels = (JSON.parse(line.slice(sp + 1)) as Record<string, string> | null) ?? {};
    const name = labels[`${ENGINE_LABEL}name`];
    const version = labels[`${ENGINE_LABEL}version`];
    // the digest a registered engine is pinned by: the manifest digest after '@'
    const digest = repoDigests.map((d) => d.slice(d.lastIndexOf("@") + 1)).find((d) => /^sha256:[a-f0-9]{64}$/.test(d));
    if (!name || !version || !digest || seen.has(digest)) continue;
    seen.add(digest);
    out.push({
      name,
      version,
      encoders: list(labels[`${ENGINE_LABEL}encoders`]),
      hwaccels: list(labels[`${ENGINE_LABEL}hwaccels`]),
      imageDigest: digest,
    });
  }
  return out;
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
  opts: { cpuMillis?: number; memoryMb?: number; ffmpegPath?: string; ffprobePath?: string; containerCli?: ContainerCli } = {},
): Promise<HostCapacity> {
  const [gpus, engines] = await Promise.all([
    discoverGpus(),
    // with the container runner the engines are images: the host's own ffmpeg (if any) is not what tasks run
    opts.containerCli
      ? discoverImageEngines(opts.containerCli)
      : discoverEngines({ ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath })
          .then((es) => es.map((e) => ({ name: e.name, version: e.version, encoders: e.encoders, hwaccels: e.hwaccels })))
          .catch(() => []),
  ]);
  return {
    cpuMillis: opts.cpuMillis ?? os.availableParallelism() * 1000,
    memoryMb: opts.memoryMb ?? Math.floor(os.totalmem() / 1024 / 1024),
    gpus,
    engines,
    pullsImages: !!opts.containerCli,
  };
}
