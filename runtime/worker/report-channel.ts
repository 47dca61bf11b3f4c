// The worker's line to the manager. A manager restart or a network blip must
// not cost the work in progress: the channel reconnects with backoff, attaches
// again with the same lease epoch, and re-sends the audit records and result
// the manager has not acknowledged. Only a refusal (stale lease, wrong
// identity) stops the task.
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../proto/index.js";
import type { ReportAck__Output, WorkerClient, WorkerMessage } from "../proto/index.js";

export interface ChannelOptions {
  address: string;
  serverName?: string;
  tls: { keyPem: string; certChainPem: string; trustPem: string };
  attach: { taskId: string; attempt: number; epoch: string };
  /** the manager refused this attempt: stop working */
  onRefused(reason: string): void;
  maxOutageMs?: number;
}

const AUDIT_BATCH_MS = 100;

const FINAL_CODES = new Set([
  grpc.status.FAILED_PRECONDITION,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.INVALID_ARGUMENT,
]);

export class ReportChannel {
  private readonly client: WorkerClient;
  private stream: grpc.ClientWritableStream<WorkerMessage> | undefined;
  /** audit records must reach the manager: kept until a result is acknowledged */
  private readonly durable: WorkerMessage[] = [];
  /** audit records not yet written to the current stream (sent together: see audit()) */
  private unsent: WorkerMessage[] = [];
  private auditTimer: NodeJS.Timeout | undefined;
  private result: WorkerMessage | undefined;
  private done: ((r: { accepted: boolean; reason: string }) => void) | undefined;
  private finished = false;
  private backoffMs = 200;
  private outageSince: number | undefined;

  constructor(private readonly opts: ChannelOptions) {
    const proto = loadProto().framefleet.v1;
    const creds = grpc.credentials.createSsl(
      Buffer.from(opts.tls.trustPem),
      Buffer.from(opts.tls.keyPem),
      Buffer.from(opts.tls.certChainPem),
    );
    this.client = new proto.Worker(
      opts.address,
      creds,
      opts.serverName ? { "grpc.ssl_target_name_override": opts.serverName } : {},
    ) as unknown as WorkerClient;
    this.open();
  }

  private open(): void {
    if (this.finished) return;
    const stream = this.client.Report((err, ack) => this.onEnd(stream, err, ack));
    stream.on("error", () => {});
    this.stream = stream;
    stream.write({ attach: this.opts.attach });
    // a new stream starts from nothing on the manager's side: replay what must not be lost
    this.unsent = [];
    for (const m of this.durable) stream.write(m);
    if (this.result) {
      stream.write(this.result);
      stream.end();
    }
  }

  private onEnd(stream: grpc.ClientWritableStream<WorkerMessage>, err: grpc.ServiceError | null, ack: ReportAck__Output | undefined): void {
    if (stream !== this.stream || this.finished) return;
    if (!err) {
      if (this.result) {
        this.finish({ accepted: !!ack?.accepted, reason: ack?.reason ?? "" });
        return;
      }
      err = Object.assign(new Error("stream closed"), {
        code: grpc.status.UNAVAILABLE,
        details: "stream closed",
        metadata: new grpc.Metadata(),
      });
    }
    if (FINAL_CODES.has(err.code)) {
      this.opts.onRefused(err.details || err.message);
      this.finish({ accepted: false, reason: err.details || err.message });
      return;
    }
    this.outageSince ??= Date.now();
    if (Date.now() - this.outageSince > (this.opts.maxOutageMs ?? 10 * 60_000)) {
      this.opts.onRefused(`manager unreachable for too long: ${err.details}`);
      this.finish({ accepted: false, reason: `manager unreachable: ${err.details}` });
      return;
    }
    const delay = this.backoffMs * (0.5 + Math.random());
    this.backoffMs = Math.min(5000, this.backoffMs * 2);
    this.stream = undefined;
    setTimeout(() => this.open(), delay);
  }

  progress(fraction: number, detail: string): void {
    this.sendAudit();
    // progress is advisory: dropped while disconnected
    this.stream?.write({ progress: { fraction, detail } });
  }

  /**
   * Records go out together, at most AUDIT_BATCH_MS after the first (or with the next
   * progress or the result, whichever is sooner): a task writes its output hashes one by
   * one, and the manager writes what arrives together as one statement and one event burst.
   */
  audit(kind: string, dataJson: string): void {
    const m: WorkerMessage = { audit: { kind, dataJson } };
    this.durable.push(m);
    this.unsent.push(m);
    this.auditTimer ??= setTimeout(() => this.sendAudit(), AUDIT_BATCH_MS);
  }

  private sendAudit(): void {
    if (this.auditTimer) clearTimeout(this.auditTimer);
    this.auditTimer = undefined;
    const batch = this.unsent;
    this.unsent = [];
    // while disconnected they wait in `durable`, which open() replays
    for (const m of batch) this.stream?.write(m);
  }

  /** Sends the result and waits until the manager acknowledged (or refused) it. */
  complete(result: NonNullable<WorkerMessage["result"]>): Promise<{ accepted: boolean; reason: string }> {
    this.result = { result };
    const p = new Promise<{ accepted: boolean; reason: string }>((r) => (this.done = r));
    if (this.finished) return Promise.resolve({ accepted: false, reason: "refused earlier" });
    this.sendAudit();
    if (this.stream) {
      this.stream.write(this.result);
      this.stream.end();
    }
    return p;
  }

  private finish(r: { accepted: boolean; reason: string }): void {
    if (this.finished) return;
    this.finished = true;
    if (this.auditTimer) clearTimeout(this.auditTimer);
    this.client.close();
    this.done?.(r);
  }

  close(): void {
    this.finished = true;
    if (this.auditTimer) clearTimeout(this.auditTimer);
    this.stream?.cancel();
    this.client.close();
  }
}
