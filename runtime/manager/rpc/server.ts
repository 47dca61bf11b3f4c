// The manager's gRPC face: coordinators hold one stream each; workers report on
// their own task-scoped connection. Authorisation comes only from the client
// certificate; every report is checked against the current lease epoch.
import os from "node:os";
import * as grpc from "@grpc/grpc-js";
import { loadProto, epochOf } from "../../proto/index.js";
import type {
  CoordinatorHandlers,
  CoordinatorMessage__Output,
  ManagerMessage,
  WorkerHandlers,
  WorkerMessage__Output,
} from "../../proto/index.js";
import type { Json } from "../../engine/types.js";
import {
  appendAttemptAudit,
  assignmentsByEpoch,
  currentLease,
  finishAttempt,
  getCoordinator,
  heartbeat,
  heldAttempts,
  insertCoordinator,
  markConnected,
  markDisconnected,
  markStarted,
  pendingAssignments,
  recordProgress,
  spendJoinToken,
  updateCoordinatorCertificate,
  taskForSigning,
  requeueCoordinatorTasks,
  type AssignmentRow,
  type SigningTask,
  type Db,
  type FinishOutcome,
  type LeasedTask,
  type Outcome,
} from "../store/index.js";
import { formatIdentity, hashSecretToken, parseSecretToken, signCsr, type CertificateAuthority, type Identity } from "../../pki/index.js";
import { callerIdentity, RpcAuthError } from "./identity.js";
import { markInterrupted } from "../store/autoscaler.js";
import { FinishBatcher } from "./finish-batcher.js";
import { randomBytes } from "node:crypto";
import type { SignRequestBody, SignResponseBody } from "../../storage/presigned.js";
import type { SignRequest__Output } from "../../proto/gen/framefleet/v1/SignRequest.js";

export interface RpcPki {
  intermediate: CertificateAuthority;
  trustPem: string;
  serverKeyPem: string;
  serverChainPem: string;
}

export interface RpcDeps {
  db: Db;
  region: string;
  replicaId: string;
  pki: RpcPki;
  heartbeatIntervalMs: number;
  coordinatorCertSeconds: number;
  taskCertSeconds: number;
  /**
   * store definitions (JSON, no secrets) this assignment may use: per assignment, so
   * cloud stores can be handed as presigned grants for exactly the task's keys
   */
  storesFor(tenant: string, assignment?: AssignmentRow): Json | Promise<Json>;
  /** signs one object-store request for a task attempt whose lease is current (Worker.Sign) */
  sign?(task: SigningTask, req: SignRequestBody): Promise<SignResponseBody>;
  /** every task of a job is terminal: finalise it */
  onJobSettled(jobId: string): void;
  /** a task became ready or capacity was freed: run a scheduling pass soon */
  wakeScheduler(): void;
  /** a lease was delivered; used for submit-to-start metrics */
  onDelivered?(a: AssignmentRow): void;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

interface Session {
  coordinatorId: string;
  call: grpc.ServerDuplexStream<CoordinatorMessage__Output, ManagerMessage>;
  sent: Set<number>;
  /** a spot interruption notice was handled for this host */
  interrupted?: boolean;
}

export class RpcServer {
  private readonly server = new grpc.Server({
    "grpc.keepalive_time_ms": 20_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
  });
  private readonly sessions = new Map<string, Session>();
  ports: { mtls: number; join: number } = { mtls: 0, join: 0 };
  private readonly finisher: FinishBatcher;

  constructor(private readonly deps: RpcDeps) {
    this.finisher = new FinishBatcher(deps.db);
    const proto = loadProto().framefleet.v1;
    this.server.addService(proto.Coordinator.service, this.coordinatorHandlers());
    this.server.addService(proto.Worker.service, this.workerHandlers());
  }

  /**
   * Two ports on one server: `mtls` requires a client certificate chained to
   * the region's root; `join` is TLS without one and answers only Join (every
   * other call there is refused for want of a certificate).
   */
  async start(opts: { host: string; mtlsPort: number; joinPort: number }): Promise<{ mtls: number; join: number }> {
    const key = { private_key: Buffer.from(this.deps.pki.serverKeyPem), cert_chain: Buffer.from(this.deps.pki.serverChainPem) };
    const trust = Buffer.from(this.deps.pki.trustPem);
    const bind = (port: number, creds: grpc.ServerCredentials) =>
      new Promise<number>((resolve, reject) =>
        this.server.bindAsync(`${opts.host}:${port}`, creds, (err, p) => (err ? reject(portError(err, opts.host, port)) : resolve(p))),
      );
    const mtls = await bind(opts.mtlsPort, grpc.ServerCredentials.createSsl(trust, [key], true));
    const join = await bind(opts.joinPort, grpc.ServerCredentials.createSsl(null, [key], false));
    this.ports = { mtls, join };
    return this.ports;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions.values()) s.call.end();
    this.sessions.clear();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  connectedCoordinators(): string[] {
    return [...this.sessions.keys()];
  }

  holds(coordinatorId: string): boolean {
    return this.sessions.has(coordinatorId);
  }

  /** Pushes freshly leased attempts to the coordinators this replica holds; returns the ones it could not. */
  async deliver(leased: LeasedTask[]): Promise<LeasedTask[]> {
    const mine = leased.filter((l) => this.sessions.has(l.coordinatorId));
    const rows = await assignmentsByEpoch(
      this.deps.db,
      mine.map((l) => l.epoch),
    );
    for (const row of rows) {
      const s = this.sessions.get(leased.find((l) => l.epoch === row.epoch)!.coordinatorId);
      if (s) this.sendAssignment(s, row);
    }
    return leased.filter((l) => !this.sessions.has(l.coordinatorId));
  }

  /** Another replica leased work to a coordinator whose stream this replica holds. */
  async deliverPending(coordinatorId: string): Promise<void> {
    const s = this.sessions.get(coordinatorId);
    if (!s) return;
    for (const row of await pendingAssignments(this.deps.db, coordinatorId)) this.sendAssignment(s, row);
  }

  cancel(attempts: { taskId: string; attempt: number; epoch: number; coordinatorId: string }[], reason: string): void {
    for (const a of attempts) {
      const s = this.sessions.get(a.coordinatorId);
      s?.call.write({ cancel: { task: { taskId: a.taskId, attempt: a.attempt, epoch: String(a.epoch) }, reason } });
    }
  }

  drain(coordinatorId: string, reason: string): boolean {
    const s = this.sessions.get(coordinatorId);
    s?.call.write({ drain: { reason } });
    return !!s;
  }

  private sendAssignment(s: Session, row: AssignmentRow): void {
    if (s.sent.has(row.epoch)) return;
    s.sent.add(row.epoch);
    let stores: Json | Promise<Json>;
    try {
      stores = this.deps.storesFor(row.tenant, row);
    } catch (err) {
      stores = Promise.reject(err);
    }
    if (stores instanceof Promise) {
      stores.then(
        (json) => this.writeAssignment(s, row, json),
        (err) => {
          // no grant, no work: fail the attempt (retryable) rather than send a task that cannot reach its media
          this.deps.log?.("building the assignment's store grants failed", { task: row.id, error: String(err) });
          void finishAttempt(this.deps.db, {
            taskId: row.id,
            epoch: row.epoch,
            outcome: "failed",
            error: `store grants: ${(err as Error).message}`,
          })
            .then((r) => this.applyFinish(r))
            .catch(() => {});
        },
      );
      return;
    }
    this.writeAssignment(s, row, stores);
  }

  private writeAssignment(s: Session, row: AssignmentRow, stores: Json): void {
    if (this.sessions.get(s.coordinatorId) !== s) return;
    s.call.write({
      assignment: {
        task: { taskId: row.id, attempt: row.attempt, epoch: String(row.epoch) },
        jobId: row.jobId,
        taskKey: row.key,
        kind: row.kind,
        pool: row.pool,
        specJson: JSON.stringify(row.spec),
        depsJson: JSON.stringify(row.deps),
        engineName: row.engineName,
        engineVersion: row.engineVersion,
        engineImage: row.engineImage ?? "",
        cpuMillis: row.cpuMillis,
        memoryMb: String(row.memoryMb),
        gpus: row.gpus,
        storesJson: JSON.stringify(stores),
      },
    });
    this.deps.onDelivered?.(row);
  }

  private coordinatorHandlers(): CoordinatorHandlers {
    return {
      Join: (call, callback) => {
        this.join(call.request).then(
          (r) => callback(null, r),
          (err) => callback(toStatus(err)),
        );
      },
      Connect: (call) => {
        let id: Identity;
        try {
          id = callerIdentity(call, this.deps.region);
          if (id.kind !== "coordinator")
            throw new RpcAuthError(grpc.status.PERMISSION_DENIED, `a ${id.kind} certificate cannot open a coordinator stream`);
        } catch (err) {
          call.emit("error", toStatus(err));
          return;
        }
        this.runCoordinatorStream(id.id, call).catch((err) => {
          this.deps.log?.("coordinator stream failed", { coordinator: id.kind === "coordinator" ? id.id : "", error: String(err) });
          try {
            call.emit("error", toStatus(err));
          } catch {
            /* stream already closed */
          }
        });
      },
    };
  }

  private async join(req: {
    token: string;
    csrPem: string;
    hostname: string;
  }): Promise<{ coordinatorId: string; certPem: string; chainPem: string; trustPem: string; region: string }> {
    const parsed = parseSecretToken(req.token ?? "", "ffjt");
    if (!parsed) throw new RpcAuthError(grpc.status.UNAUTHENTICATED, "join token is malformed");
    const coordinatorId = `c-${randomBytes(6).toString("hex")}`;
    const spent = await spendJoinToken(this.deps.db, parsed.lookupId, hashSecretToken(req.token), this.deps.region, coordinatorId);
    if (spent !== "ok") {
      const why = {
        unknown: "join token is not valid",
        used: "join token was already used",
        expired: "join token has expired",
        revoked: "join token was revoked",
        "wrong-region": "join token is for another region",
      }[spent];
      throw new RpcAuthError(grpc.status.UNAUTHENTICATED, why);
    }
    const issued = signCsr(this.deps.pki.intermediate, req.csrPem, {
      identity: { kind: "coordinator", region: this.deps.region, id: coordinatorId },
      validitySeconds: this.deps.coordinatorCertSeconds,
    });
    await insertCoordinator(this.deps.db, {
      id: coordinatorId,
      region: this.deps.region,
      hostname: req.hostname.slice(0, 255),
      certSerial: issued.serial,
      certNotAfter: issued.notAfter,
    });
    this.deps.log?.("coordinator joined", { coordinator: coordinatorId, hostname: req.hostname });
    return {
      coordinatorId,
      certPem: issued.certPem,
      chainPem: issued.chainPem,
      trustPem: this.deps.pki.trustPem,
      region: this.deps.region,
    };
  }

  private async runCoordinatorStream(
    coordinatorId: string,
    call: grpc.ServerDuplexStream<CoordinatorMessage__Output, ManagerMessage>,
  ): Promise<void> {
    const { db } = this.deps;
    const queue = serialQueue();
    let session: Session | undefined;
    const close = () => {
      if (session && this.sessions.get(coordinatorId) === session) {
        this.sessions.delete(coordinatorId);
        void markDisconnected(db, coordinatorId, this.deps.replicaId).catch(() => {});
      }
    };
    call.on("end", () => {
      close();
      call.end();
    });
    call.on("error", close);
    call.on("cancelled", close);
    call.on("data", (msg: CoordinatorMessage__Output) => {
      queue(async () => {
        if (msg.hello) {
          const h = msg.hello;
          const c = h.capacity;
          const ok = await markConnected(db, coordinatorId, this.deps.replicaId, h.hostname, {
            cpuMillis: c?.cpuMillis ?? 0,
            memoryMb: Number(c?.memoryMb ?? 0),
            gpus: c?.gpus ?? 0,
            engines: (c?.engines ?? []).map((e) => ({
              name: e.name,
              version: e.version,
              encoders: e.encoders,
              imageDigest: e.imageDigest || undefined,
            })),
            pools: c?.pools ?? [],
            capacityType: c?.capacityType || "local",
            instanceType: c?.instanceType ?? "",
            pullsImages: c?.pullsImages ?? false,
            detail: {
              gpuDevices: (c?.gpuDevices ?? []).map((g) => ({ index: g.index, name: g.name, memoryMb: Number(g.memoryMb), uuid: g.uuid })),
              version: h.version,
            },
          });
          if (!ok)
            throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "coordinator was retired (heartbeat lapsed); it must join again");
          const previous = this.sessions.get(coordinatorId);
          if (previous) previous.call.end();
          session = { coordinatorId, call, sent: new Set() };
          this.sessions.set(coordinatorId, session);
          const stale = await this.reconcile(
            coordinatorId,
            h.running.map((r) => ({ taskId: r.taskId, epoch: epochOf(r) })),
            session,
          );
          call.write({ welcome: { coordinatorId, heartbeatIntervalMs: this.deps.heartbeatIntervalMs, stale } });
          for (const row of await pendingAssignments(db, coordinatorId)) this.sendAssignment(session, row);
          this.deps.wakeScheduler();
          return;
        }
        if (!session) throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "the first message on a coordinator stream must be hello");
        if (msg.heartbeat) {
          await heartbeat(db, coordinatorId, msg.heartbeat.draining);
          if (msg.heartbeat.interruptionNotice && !session.interrupted) {
            session.interrupted = true;
            await this.onInterruptionNotice(coordinatorId, msg.heartbeat.interruptionNotice);
          }
        } else if (msg.taskEvent) {
          await this.onTaskEvent(coordinatorId, msg.taskEvent);
        } else if (msg.certificateRequest) {
          call.write({ certificate: await this.issueFor(coordinatorId, msg.certificateRequest) });
        }
      }).catch((err) => {
        close();
        try {
          call.emit("error", toStatus(err));
        } catch {
          /* closed */
        }
      });
    });
  }

  /**
   * After a reconnect the coordinator tells us what it still runs. Attempts we
   * no longer recognise (requeued while it was away) are stale: it must stop
   * them. Attempts we think it started but it does not report were lost.
   */
  private async reconcile(
    coordinatorId: string,
    running: { taskId: string; epoch: number }[],
    session: Session,
  ): Promise<{ taskId: string; attempt: number; epoch: string }[]> {
    const held = await heldAttempts(this.deps.db, coordinatorId);
    const heldEpochs = new Set(held.map((h) => h.epoch));
    const reported = new Set(running.map((r) => r.epoch));
    for (const r of running) if (heldEpochs.has(r.epoch)) session.sent.add(r.epoch);
    for (const h of held) {
      if (h.state === "running" && !reported.has(h.epoch)) {
        await this.applyFinish(
          await finishAttempt(this.deps.db, {
            taskId: h.taskId,
            epoch: h.epoch,
            outcome: "lost",
            error: "coordinator reconnected without this attempt",
          }),
        );
      }
    }
    return running.filter((r) => !heldEpochs.has(r.epoch)).map((r) => ({ taskId: r.taskId, attempt: 0, epoch: String(r.epoch) }));
  }

  private async onTaskEvent(coordinatorId: string, ev: NonNullable<CoordinatorMessage__Output["taskEvent"]>): Promise<void> {
    const ref = { taskId: ev.task?.taskId ?? "", epoch: epochOf(ev.task ?? {}) };
    const lease = await currentLease(this.deps.db, ref);
    if (!lease || lease.coordinatorId !== coordinatorId) return; // stale: already settled or not this host's
    if (ev.kind === "STARTED") {
      await markStarted(this.deps.db, ref);
      return;
    }
    // the worker ended without reporting a result (or the host refused the task)
    const reason =
      ev.kind === "REJECTED"
        ? `coordinator refused the task: ${ev.reason}`
        : `worker exited without a result (${ev.signal ? `signal ${ev.signal}` : `exit code ${ev.exitCode}`})${ev.reason ? `: ${ev.reason}` : ""}`;
    const outcome: Outcome = ev.kind === "REJECTED" ? "lost" : "failed";
    await this.applyFinish(await finishAttempt(this.deps.db, { ...ref, outcome, error: reason }));
  }

  private async issueFor(
    coordinatorId: string,
    req: NonNullable<CoordinatorMessage__Output["certificateRequest"]>,
  ): Promise<NonNullable<ManagerMessage["certificate"]>> {
    try {
      if (req.renewSelf) {
        const c = await getCoordinator(this.deps.db, coordinatorId);
        if (!c || c.state === "gone") throw new Error("coordinator is retired");
        const issued = signCsr(this.deps.pki.intermediate, req.csrPem, {
          identity: { kind: "coordinator", region: this.deps.region, id: coordinatorId },
          validitySeconds: this.deps.coordinatorCertSeconds,
        });
        await updateCoordinatorCertificate(this.deps.db, coordinatorId, issued.serial, issued.notAfter);
        return { self: true, certPem: issued.certPem, chainPem: issued.chainPem };
      }
      const ref = { taskId: req.task?.taskId ?? "", epoch: epochOf(req.task ?? {}) };
      const lease = await currentLease(this.deps.db, ref);
      if (!lease || lease.coordinatorId !== coordinatorId) throw new Error("no current lease of this task on this coordinator");
      const identity: Identity = { kind: "task", region: this.deps.region, taskId: ref.taskId, attempt: lease.attempt };
      const issued = signCsr(this.deps.pki.intermediate, req.csrPem, { identity, validitySeconds: this.deps.taskCertSeconds });
      return {
        task: { taskId: ref.taskId, attempt: lease.attempt, epoch: String(ref.epoch) },
        certPem: issued.certPem,
        chainPem: issued.chainPem,
      };
    } catch (err) {
      return { task: req.task ?? null, error: (err as Error).message, self: req.renewSelf };
    }
  }

  private workerHandlers(): WorkerHandlers {
    return {
      Sign: (call, callback) => {
        this.sign(call, call.request).then(
          (r) => callback(null, r),
          (err) => callback(toStatus(err)),
        );
      },
      Report: (call, callback) => {
        let id: Identity;
        try {
          id = callerIdentity(call, this.deps.region);
          if (id.kind !== "task")
            throw new RpcAuthError(
              grpc.status.PERMISSION_DENIED,
              `a ${id.kind} certificate cannot report on a task; only the task's own worker can`,
            );
        } catch (err) {
          callback(toStatus(err));
          return;
        }
        const taskIdentity = id;
        const queue = serialQueue();
        let attached: { taskId: string; epoch: number; tenant: string; jobId: string; attempt: number } | undefined;
        let done = false;
        const fail = (err: unknown) => {
          if (done) return;
          done = true;
          callback(toStatus(err));
        };
        // audit records arrive one message each, often in bursts (a task's output hashes):
        // those that arrive before the queue reaches them are written as one statement
        const pendingAudit: { kind: string; dataJson: string }[] = [];
        const flushAudit = async () => {
          if (done) return;
          if (!attached)
            throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "the first worker message must attach to its task attempt");
          const batch = pendingAudit.splice(0).map((a) => ({ kind: a.kind, data: parseJson(a.dataJson) }));
          if ((await appendAttemptAudit(this.deps.db, attached, batch)) === "stale")
            throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "stale lease epoch: this attempt is no longer current");
        };
        call.on("data", (msg: WorkerMessage__Output) => {
          if (msg.audit) {
            pendingAudit.push({ kind: msg.audit.kind, dataJson: msg.audit.dataJson });
            // one flush queued at a time: it takes every record that arrived before it runs
            if (pendingAudit.length === 1) queue(flushAudit).catch(fail);
            return;
          }
          queue(async () => {
            if (done) return;
            if (msg.attach) {
              const ref = { taskId: msg.attach.taskId, epoch: epochOf(msg.attach) };
              if (ref.taskId !== taskIdentity.taskId || msg.attach.attempt !== taskIdentity.attempt) {
                throw new RpcAuthError(
                  grpc.status.PERMISSION_DENIED,
                  `certificate is for ${formatIdentity(taskIdentity)}, not task ${ref.taskId} attempt ${msg.attach.attempt}`,
                );
              }
              const lease = await currentLease(this.deps.db, ref);
              if (!lease || lease.attempt !== taskIdentity.attempt)
                throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "stale lease epoch: this attempt is no longer current");
              attached = { ...ref, tenant: lease.tenant, jobId: lease.jobId, attempt: lease.attempt };
              await markStarted(this.deps.db, ref);
              return;
            }
            if (!attached)
              throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "the first worker message must attach to its task attempt");
            if (msg.progress) {
              const r = await recordProgress(this.deps.db, attached, msg.progress.fraction, msg.progress.detail || null);
              if (r === "stale")
                throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "stale lease epoch: this attempt is no longer current");
            } else if (msg.result) {
              const outcome = outcomeOf(msg.result.outcome);
              const r = await this.finisher.finish({
                ...attached,
                outcome,
                result: parseJson(msg.result.resultJson),
                error: msg.result.error || undefined,
              });
              if (r.status === "stale")
                throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "stale lease epoch: this attempt is no longer current");
              await this.applyFinish(r);
              done = true;
              callback(null, { accepted: true, reason: "" });
            }
          }).catch(fail);
        });
        call.on("end", () =>
          queue(async () => {
            if (!done) {
              done = true;
              callback(null, { accepted: false, reason: "stream ended without a result" });
            }
          }),
        );
        call.on("error", () => {
          done = true;
        });
      },
    };
  }

  /** Worker.Sign: only the attempt's own certificate, only under its current lease, only within its scope. */
  private async sign(
    call: grpc.ServerUnaryCall<SignRequest__Output, unknown>,
    req: SignRequest__Output,
  ): Promise<{ requestJson: string; uploadId: string }> {
    const id = callerIdentity(call, this.deps.region);
    if (id.kind !== "task") throw new RpcAuthError(grpc.status.PERMISSION_DENIED, `a ${id.kind} certificate cannot ask for store grants`);
    const ref = { taskId: req.task?.taskId ?? "", epoch: epochOf(req.task ?? {}) };
    if (ref.taskId !== id.taskId || req.task?.attempt !== id.attempt) {
      throw new RpcAuthError(
        grpc.status.PERMISSION_DENIED,
        `certificate is for ${formatIdentity(id)}, not task ${ref.taskId} attempt ${req.task?.attempt}`,
      );
    }
    if (!this.deps.sign) throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "this manager signs no store requests");
    const task = await taskForSigning(this.deps.db, ref.taskId, ref.epoch);
    if (!task || task.attempt !== id.attempt)
      throw new RpcAuthError(grpc.status.FAILED_PRECONDITION, "stale lease epoch: this attempt is no longer current");
    let parts: SignRequestBody["parts"];
    if (req.partsJson) {
      const p = parseJson(req.partsJson);
      if (!Array.isArray(p)) throw new RpcAuthError(grpc.status.INVALID_ARGUMENT, "parts must be a JSON array");
      parts = p.map((x) => ({
        partNumber: Number((x as { partNumber?: unknown })?.partNumber),
        etag: String((x as { etag?: unknown })?.etag ?? ""),
      }));
    }
    try {
      const r = await this.deps.sign(task, {
        store: req.store,
        op: req.op as SignRequestBody["op"],
        key: req.key,
        ...(req.uploadId ? { uploadId: req.uploadId } : {}),
        ...(req.partNumber ? { partNumber: req.partNumber } : {}),
        ...(parts ? { parts } : {}),
      });
      return { requestJson: r.request ? JSON.stringify(r.request) : "", uploadId: r.uploadId ?? "" };
    } catch (err) {
      if ((err as Error).name === "StoreScopeError" || (err as Error).name === "StoreRefError")
        throw new RpcAuthError(grpc.status.PERMISSION_DENIED, (err as Error).message);
      throw err;
    }
  }

  /**
   * A spot interruption notice on a heartbeat: the host is going away within
   * minutes, so its attempts are requeued now (not after the heartbeat lapses)
   * and stopped on the host. A chunked encode loses only the chunk in flight.
   */
  private async onInterruptionNotice(coordinatorId: string, notice: string): Promise<void> {
    if (!(await markInterrupted(this.deps.db, coordinatorId, notice))) return;
    const held = await heldAttempts(this.deps.db, coordinatorId);
    this.deps.log?.("spot interruption notice: requeuing the host's tasks", { coordinator: coordinatorId, attempts: held.length });
    const outcomes = await requeueCoordinatorTasks(this.deps.db, coordinatorId, `spot interruption notice on coordinator ${coordinatorId}`);
    this.cancel(
      held.map((h) => ({ ...h, coordinatorId })),
      "spot interruption: requeued elsewhere",
    );
    for (const o of outcomes) await this.applyFinish(o);
  }

  private async applyFinish(r: FinishOutcome): Promise<void> {
    if (r.status !== "ok") return;
    if (r.cancelled && r.cancelled.length > 0) this.cancel(r.cancelled, "job failed");
    if (r.jobSettled && r.jobId) this.deps.onJobSettled(r.jobId);
    this.deps.wakeScheduler();
  }
}

function outcomeOf(o: string): Outcome {
  switch (o) {
    case "SUCCEEDED":
      return "succeeded";
    case "SKIPPED":
      return "skipped";
    case "FAILED_PERMANENT":
      return "failed-permanent";
    case "CANCELLED":
      return "lost";
    default:
      return "failed";
  }
}

function parseJson(s: string): Json {
  if (!s) return null;
  try {
    return JSON.parse(s) as Json;
  } catch {
    throw new RpcAuthError(grpc.status.INVALID_ARGUMENT, "malformed JSON in report");
  }
}

function toStatus(err: unknown): Partial<grpc.StatusObject> & Error {
  if (err instanceof RpcAuthError) return Object.assign(new Error(err.message), { code: err.code, details: err.message });
  const msg = (err as Error)?.message ?? String(err);
  const code = /CSR|csr|signature/.test(msg) ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
  return Object.assign(new Error(msg), { code, details: msg });
}

function portError(err: Error, host: string, port: number): Error {
  if (/EADDRINUSE|address already in use|No address added/i.test(err.message)) {
    return new Error(`gRPC port ${host}:${port} is already in use; choose another with --grpc-port / --join-port`);
  }
  return err;
}

/** Runs async handlers one at a time, in arrival order, per stream. */
function serialQueue(): (fn: () => Promise<void>) => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  return (fn) => {
    const next = tail.then(fn);
    tail = next.catch(() => {});
    return next;
  };
}

export function defaultReplicaId(): string {
  return `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}
