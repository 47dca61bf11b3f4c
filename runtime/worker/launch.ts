// What a coordinator hands the worker process it starts, on the worker's stdin
// (never on disk): the assignment, and the task-scoped key and certificate
// that were made for this attempt on this host.
import type { Json } from "../engine/types.js";
import type { DiscoveredEngine } from "../engine/discover.js";

export interface WorkerLaunch {
  managerAddress: string;
  /** name the manager's certificate is checked against, when it differs from the address */
  serverName?: string;
  tls: { keyPem: string; certChainPem: string; trustPem: string };
  task: {
    taskId: string;
    attempt: number;
    epoch: string;
    jobId: string;
    taskKey: string;
    kind: string;
    spec: Json;
    deps: Json;
    engine: { name: string; version: string };
    /** repo@sha256:digest of the engine image, from the engine registry; "" for a host-binary engine */
    engineImage: string;
  };
  stores: Json;
  workDir: string;
  ffmpegPath: string;
  ffprobePath: string;
  runner: "process" | "container";
  /** container runner: where the host keeps each engine image's ffmpeg version, by digest */
  engineVersionCacheDir?: string;
  /** the host's ffmpeg as the coordinator discovered it (process runner): the worker adopts it if the binary is unchanged */
  hostEngine?: DiscoveredEngine;
  /** what the task was placed with: the container runner turns these into the engine container's limits */
  requirements?: { cpuMillis: number; memoryMb: number; gpus: number };
  /** the hard memory limit the coordinator holds this worker to; the container's limit when the task states none */
  memoryLimitMb?: number;
  /** host GPUs the task may use (index or UUID), when it needs any */
  gpuDevices?: string[];
}
