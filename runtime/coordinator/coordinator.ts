// The per-host agent. It only dials out: one mutual-TLS stream to the manager
// carries its capacity and heartbeats up and assignments down. It starts a
// worker per assignment with a task-scoped certificate made for that attempt,
// and survives a manager restart by reconnecting and re-reporting what runs.
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../proto/index.js";
import type { CoordinatorClient, CoordinatorMessage, ManagerMessage__Output } from "../proto/index.js";
import { generateKeyAndCsrAsync, needsRotation } from "../pki/index.js";
import type { Json } from "../engine/types.js";
import { discoverEngines, type DiscoveredEngine } from "../engine/discover.js";
import { discoverCapacity, type HostCapacity } from "./capacity.js";
import { join, loadCredentials, saveCredentials, type CoordinatorCredentials } from "./credentials.js";
import { WorkerLauncher, type WorkerExit } from "./launcher.js";
import { findContainerCli, type ContainerCli } from "../worker/container-cli.js";

export interface CoordinatorConfig {
  managerAddress: string;
  joinAddress: string;
  /** the name the manager's certificate is checked against, if not the address's host */
  serverName?: string;
  stateDir: string;
  joinToken?: string;
  /** root to trust the manager with before joining (from the join bundle) */
  bootstrapTrustPem?: string;
  capacity?: { cpuMillis?: number; memoryMb?: number };
  pools?: string[];
  capacityType?: string;
  instanceType?: string;
  /** kill a worker whose process tree passes this share of host memory */
  memoryFraction?: number;
  memoryLimitMb?: number;
  workRoot: string;
  /** "container": workers run each task's engine image (the host's ffmpeg is not used); default "process" */
  runner?: "process" | "container";
  /** the container CLI for the container runner (default: found on PATH) */
  containerCli?: ContainerCli;
  ffmpegPath: string;
  ffprobePath: string;
  worker: { command: string; args: string[] };
  log?(msg: string, fields?: Record<string, unknown>): void;
}

const VERSION = "0.1.0";

export class Coordinator {
  private creds: CoordinatorCredentials | undefined;
  private capacity: HostCapacity | undefined;
  private client: CoordinatorClient | undefined;
  private stream: grpc.ClientDuplexStream<CoordinatorMessage, ManagerMessage__Output> | undefined;
  private connected = false;
  private stopped = false;
  private draining = false;
  private interruption = "";
  private backoffMs = 250;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly outbox: CoordinatorMessage[] = [];
  private readonly pendingCerts = new Map<string, (c: { certPem: string; chainPem: string; error: string }) => void>();
  private renewing = false;
  private readonly launcher: WorkerLauncher;
  /** attempts assigned but whose worker has not started yet */
  private readonly starting = new Map<string, { taskId: string; attempt: number; epoch: string }>();
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(private readonly cfg: CoordinatorConfig) {
    this.launcher = new WorkerLauncher({
      command: cfg.worker.command,
      args: cfg.worker.args,
      onExit: (e) => this.onWorkerExit(e),
      log: cfg.log,
    });
    this.ready = new Promise((r) => (this.markReady = r));
  }

  get id(): string | undefined {
    return this.creds?.coordinatorId;
  }

  async start(): Promise<void> {
    this.creds = loadCredentials(this.cfg.stateDir);
    if (!this.creds) {
      if (!this.cfg.joinToken) throw new Error(`no coordinator certificate in ${this.cfg.stateDir} and no join token given`);
      if (!this.cfg.bootstrapTrustPem) throw new Error("joining needs the region's root certificate to check the manager with");
      this.creds = await join({
        joinAddress: this.cfg.joinAddress,
        token: this.cfg.joinToken,
        trustPem: this.cfg.bootstrapTrustPem,
        serverName: this.cfg.serverName,
        stateDir: this.cfg.stateDir,
      });
      this.cfg.log?.("joined", { coordinator: this.creds.coordinatorId });
    }
    const containerCli = this.cfg.runner === "container" ? (this.cfg.containerCli ?? (await findContainerCli())) : undefined;
    this.capacity = await discoverCapacity({
      ...this.cfg.capacity,
      ffmpegPath: this.cfg.ffmpegPath,
      ffprobePath: this.cfg.ffprobePath,
      containerCli,
    });
    this.connect();
  }

  /** A spot interruption notice or an operator's drain: take no new work. */
  beginDrain(notice: string): void {
    this.draining = true;
    this.interruption = notice;
    this.sendHeartbeat();
  }

  runningCount(): number {
    return this.launcher.runningAttempts().length + this.starting.size;
  }

  async stop(opts: { stopWorkers?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.reconnectTimer);
    if (opts.stopWorkers !== false) this.launcher.stopAll("coordinator stopping");
    this.stream?.end();
    this.client?.close();
  }

  private connect(): void {
    if (this.stopped || !this.creds) return;
    const proto = loadProto().framefleet.v1;
    const creds = grpc.credentials.createSsl(
      Buffer.from(this.creds.trustPem),
      Buffer.from(this.creds.keyPem),
      Buffer.from(this.creds.certChainPem),
    );
    this.client?.close();
    this.client = new proto.Coordinator(this.cfg.managerAddress, creds, {
      ...(this.cfg.serverName ? { "grpc.ssl_target_name_override": this.cfg.serverName } : {}),
      "grpc.keepalive_time_ms": 20_000,
      "grpc.keepalive_timeout_ms": 10_000,
    }) as unknown as CoordinatorClient;
    const stream = this.client.Connect();
    this.stream = stream;
    const cap = this.capacity!;
    stream.write({
      hello: {
        hostname: os.hostname(),
        version: VERSION,
        running: [...this.launcher.runningAttempts(), ...this.starting.values()],
        capacity: {
          cpuMillis: cap.cpuMillis,
          memoryMb: String(cap.memoryMb),
          gpus: cap.gpus.length,
          gpuDevices: cap.gpus.map((g) => ({ index: g.index, name: g.name, memoryMb: String(g.memoryMb), uuid: g.uuid })),
          engines: cap.engines,
          pullsImages: !!cap.pullsImages,
          pools: this.cfg.pools ?? [],
          capacityType: this.cfg.capacityType ?? "local",
          instanceType: this.cfg.instanceType ?? "",
        },
      },
    });
    stream.on("data", (m: ManagerMessage__Output) => this.onMessage(m));
    stream.on("error", (err: grpc.ServiceError) => this.onDisconnect(err));
    stream.on("end", () => this.onDisconnect());
  }

  private onDisconnect(err?: grpc.ServiceError): void {
    if (!this.connected && this.reconnectTimer) return;
    this.connected = false;
    clearInterval(this.heartbeatTimer);
    for (const [, resolve] of this.pendingCerts) resolve({ certPem: "", chainPem: "", error: "disconnected" });
    this.pendingCerts.clear();
    if (this.stopped) return;
    if (err?.code === grpc.status.FAILED_PRECONDITION && /retired|join again/.test(err.details)) {
      this.cfg.log?.("the manager retired this coordinator; stopping", { reason: err.details });
      void this.stop();
      process.exitCode = 4;
      return;
    }
    const delay = this.backoffMs * (0.5 + Math.random());
    this.backoffMs = Math.min(10_000, this.backoffMs * 2);
    this.cfg.log?.("disconnected from the manager; reconnecting", { inMs: Math.round(delay), error: err?.details });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  private send(m: CoordinatorMessage): void {
    if (this.connected && this.stream) this.stream.write(m);
    else this.outbox.push(m);
  }

  private onMessage(m: ManagerMessage__Output): void {
    if (m.welcome) {
      this.connected = true;
      this.backoffMs = 250;
      for (const s of m.welcome.stale) this.launcher.stop(String(s.epoch), "the manager no longer recognises this attempt");
      while (this.outbox.length > 0) this.stream!.write(this.outbox.shift()!);
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), Math.max(200, m.welcome.heartbeatIntervalMs || 5000));
      this.markReady();
      this.cfg.log?.("connected", { coordinator: m.welcome.coordinatorId });
      return;
    }
    if (m.assignment) {
      void this.onAssignment(m.assignment).catch((err) => {
        this.cfg.log?.("could not start task", { error: String(err) });
      });
      return;
    }
    if (m.cancel?.task) {
      const epoch = String(m.cancel.task.epoch);
      this.starting.delete(epoch);
      this.launcher.stop(epoch, `cancelled: ${m.cancel.reason}`);
      return;
    }
    if (m.certificate) {
      if (m.certificate.self) {
        this.renewing = false;
        if (!m.certificate.error && this.pendingSelfKey) {
          saveCredentials(this.cfg.stateDir, {
            keyPem: this.pendingSelfKey,
            certChainPem: m.certificate.chainPem,
            trustPem: this.creds!.trustPem,
          });
          this.creds = { ...this.creds!, keyPem: this.pendingSelfKey, certChainPem: m.certificate.chainPem };
          this.cfg.log?.("certificate renewed");
        }
        return;
      }
      const key = String(m.certificate.task?.epoch ?? "");
      this.pendingCerts.get(key)?.({ certPem: m.certificate.certPem, chainPem: m.certificate.chainPem, error: m.certificate.error });
      this.pendingCerts.delete(key);
      return;
    }
    if (m.drain) this.beginDrain(m.drain.reason);
  }

  private pendingSelfKey: string | undefined;

  private sendHeartbeat(): void {
    if (!this.connected) return;
    this.send({
      heartbeat: {
        running: [...this.launcher.runningAttempts(), ...this.starting.values()],
        draining: this.draining,
        interruptionNotice: this.interruption,
      },
    });
    if (!this.renewing && this.creds && needsRotation(this.creds.certChainPem)) {
      this.renewing = true;
      void generateKeyAndCsrAsync({ commonName: os.hostname() }).then(({ keyPem, csrPem }) => {
        this.pendingSelfKey = keyPem;
        this.send({ certificateRequest: { renewSelf: true, csrPem } });
      });
    }
  }

  private async onAssignment(a: NonNullable<ManagerMessage__Output["assignment"]>): Promise<void> {
    const ref = { taskId: a.task!.taskId, attempt: a.task!.attempt, epoch: String(a.task!.epoch) };
    if (this.draining || this.stopped) {
      this.send({ taskEvent: { task: ref, kind: "REJECTED", reason: this.draining ? "host is draining" : "coordinator stopping" } });
      return;
    }
    if (this.launcher.has(ref.epoch) || this.starting.has(ref.epoch)) return;
    this.starting.set(ref.epoch, ref);
    // the task's key is made here, fresh per attempt (EC P-256: well under a millisecond), and never leaves this host
    const { keyPem, csrPem } = await generateKeyAndCsrAsync({ commonName: "framefleet-task" });
    const cert = await new Promise<{ certPem: string; chainPem: string; error: string }>((resolve) => {
      this.pendingCerts.set(ref.epoch, resolve);
      this.send({ certificateRequest: { task: ref, csrPem } });
    });
    if (!this.starting.has(ref.epoch)) return; // cancelled meanwhile
    this.starting.delete(ref.epoch);
    if (cert.error) {
      this.send({ taskEvent: { task: ref, kind: "REJECTED", reason: `no task certificate: ${cert.error}` } });
      return;
    }
    const hostEngine = this.cfg.runner === "container" ? undefined : await this.hostEngine();
    const hostMb = this.capacity!.memoryMb;
    const limit = this.cfg.memoryLimitMb ?? Math.floor(hostMb * (this.cfg.memoryFraction ?? 0.75));
    this.launcher.launch(
      {
        managerAddress: this.cfg.managerAddress,
        serverName: this.cfg.serverName,
        tls: { keyPem, certChainPem: cert.chainPem, trustPem: this.creds!.trustPem },
        task: {
          taskId: ref.taskId,
          attempt: ref.attempt,
          epoch: ref.epoch,
          jobId: a.jobId,
          taskKey: a.taskKey,
          kind: a.kind,
          spec: JSON.parse(a.specJson || "null") as Json,
          deps: JSON.parse(a.depsJson || "{}") as Json,
          engine: { name: a.engineName, version: a.engineVersion },
          engineImage: a.engineImage ?? "",
        },
        stores: JSON.parse(a.storesJson || "{}") as Json,
        workDir: path.join(this.cfg.workRoot, `${ref.taskId}-${ref.attempt}`),
        ffmpegPath: this.cfg.ffmpegPath,
        ffprobePath: this.cfg.ffprobePath,
        runner: this.cfg.runner ?? "process",
        hostEngine,
        engineVersionCacheDir: this.cfg.runner === "container" ? path.join(this.cfg.stateDir, "engine-versions") : undefined,
        requirements: { cpuMillis: a.cpuMillis, memoryMb: Number(a.memoryMb), gpus: a.gpus },
        memoryLimitMb: limit,
        // no GPU accounting per device yet: a task gets the host's first GPUs
        gpuDevices: a.gpus > 0 ? this.capacity!.gpus.slice(0, a.gpus).map((g) => g.uuid || String(g.index)) : [],
      },
      limit,
    );
    this.send({ taskEvent: { task: ref, kind: "STARTED" } });
  }

  /** this host's ffmpeg as discovered at start (cached per binary path); none if discovery fails */
  private async hostEngine(): Promise<DiscoveredEngine | undefined> {
    try {
      return (await discoverEngines({ ffmpegPath: this.cfg.ffmpegPath, ffprobePath: this.cfg.ffprobePath }))[0];
    } catch {
      return undefined;
    }
  }

  private onWorkerExit(e: WorkerExit): void {
    this.send({ taskEvent: { task: e.ref, kind: "EXITED", exitCode: e.exitCode, signal: e.signal, reason: e.reason } });
  }
}
