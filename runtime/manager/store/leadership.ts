import pg from "pg";

/**
 * One scheduler per region: a session-level advisory lock held on a dedicated
 * connection. If the connection dies the lock is released by the server and
 * another replica takes over; `onLost` tells the holder to stop at once.
 */
export class AdvisoryLeadership {
  private client: pg.Client | undefined;
  private leader = false;

  constructor(
    private readonly url: string,
    private readonly lockKey: number,
    private readonly onLost: () => void,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  async tryAcquire(): Promise<boolean> {
    if (this.leader) return true;
    if (!this.client) {
      const client = new pg.Client({ connectionString: this.url, application_name: "framefleet-leader" });
      client.on("error", () => this.lose());
      client.on("end", () => this.lose());
      await client.connect();
      this.client = client;
    }
    const r = await this.client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [this.lockKey]);
    this.leader = r.rows[0]?.ok === true;
    return this.leader;
  }

  private lose(): void {
    const was = this.leader;
    this.leader = false;
    this.client = undefined;
    if (was) this.onLost();
  }

  async release(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.leader = false;
    if (c) await c.end().catch(() => {});
  }
}

/** LISTEN on a dedicated connection; reconnects with backoff so notifications resume after a database restart. */
export class Listener {
  private client: pg.Client | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly channels: string[],
    private readonly onNotify: (channel: string, payload: string) => void,
    private readonly onReconnect: () => void = () => {},
  ) {}

  async start(): Promise<void> {
    let delay = 250;
    while (!this.stopped) {
      try {
        const client = new pg.Client({ connectionString: this.url, application_name: "framefleet-listen" });
        client.on("notification", (n) => this.onNotify(n.channel, n.payload ?? ""));
        client.on("error", () => {});
        await client.connect();
        for (const ch of this.channels) await client.query(`LISTEN ${ch}`);
        this.client = client;
        client.on("end", () => {
          this.client = undefined;
          if (!this.stopped) void this.start().then(this.onReconnect);
        });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(5000, delay * 2);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => {});
  }
}
