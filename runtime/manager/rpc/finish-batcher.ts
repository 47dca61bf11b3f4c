// Results arrive from many workers at once; applying each in its own commit
// makes the disk's flush rate the region's ceiling. The batcher applies what
// arrived within a couple of milliseconds in one statement and one commit.
import { finishAttempts, type Db, type FinishInput, type FinishOutcome } from "../store/index.js";

export class FinishBatcher {
  private queue: { input: FinishInput; resolve: (o: FinishOutcome) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(
    private readonly db: Db,
    private readonly opts: { maxBatch?: number; lingerMs?: number; maxConcurrent?: number } = {},
  ) {}

  finish(input: FinishInput): Promise<FinishOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (this.queue.length >= (this.opts.maxBatch ?? 128)) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs ?? 2);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    if (this.inFlight >= (this.opts.maxConcurrent ?? 4)) {
      // back-pressure: the next flush picks up everything queued meanwhile
      this.timer = setTimeout(() => this.flush(), 1);
      return;
    }
    const batch = this.queue.splice(0, this.opts.maxBatch ?? 128);
    this.inFlight++;
    finishAttempts(
      this.db,
      batch.map((b) => b.input),
    )
      .then(
        (outs) => batch.forEach((b, i) => b.resolve(outs[i]!)),
        (err) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.flush();
      });
  }
}
