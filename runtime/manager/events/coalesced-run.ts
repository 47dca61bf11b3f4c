// A pass that wake-ups trigger (a NOTIFY per committed statement, a timer):
// wake-ups while it runs fold into one more run, and runs start at least
// `minGapMs` apart, so a burst of notifications costs one or two passes
// instead of one each. The database is what every pass reads, so a later
// pass never misses what an earlier wake-up was for.
export interface CoalescedRunOptions {
  /** the pass; resolves true when it stopped early with more to do (a full batch) */
  run(): Promise<boolean | void>;
  minGapMs: number;
  onError(err: unknown): void;
}

export class CoalescedRun {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastStart = -Infinity;
  private stopped = false;

  constructor(private readonly opts: CoalescedRunOptions) {}

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = this.lastStart + this.opts.minGapMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.start();
      }, wait);
      return;
    }
    this.start();
  }

  private start(): void {
    if (this.stopped || this.running) return;
    this.again = false;
    this.lastStart = Date.now();
    this.running = (async () => {
      try {
        if ((await this.opts.run()) === true) this.again = true;
      } catch (err) {
        if (!this.stopped) this.opts.onError(err);
      } finally {
        this.running = undefined;
      }
      if (this.again) this.kick();
    })();
  }

  /** No more runs; resolves when the one in progress (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
