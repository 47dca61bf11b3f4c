// The wake-up folding behind the event sequencer and the webhook worker: a burst
// of kicks costs one pass plus one, passes are spaced, and nothing is dropped.
import { describe, expect, it } from "vitest";
import { CoalescedRun } from "./coalesced-run.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("CoalescedRun", () => {
  it("folds a burst of kicks into one run while it runs, plus one run after, at least minGapMs apart", async () => {
    const starts: number[] = [];
    const r = new CoalescedRun({
      minGapMs: 100,
      run: async () => {
        starts.push(Date.now());
        await sleep(20);
      },
      onError: (err) => {
        throw err;
      },
    });
    r.kick();
    for (let i = 0; i < 50; i++) r.kick();
    await sleep(40);
    for (let i = 0; i < 50; i++) r.kick();
    await sleep(300);
    expect(starts).toHaveLength(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(95);
    await r.stop();
  });

  it("a kick after a quiet spell runs at once; a run that reports more work runs again; stop waits for the run", async () => {
    let runs = 0;
    let more = 2;
    const r = new CoalescedRun({
      minGapMs: 10,
      run: async () => {
        runs++;
        await sleep(5);
        return more-- > 0;
      },
      onError: () => {},
    });
    r.kick();
    await sleep(100);
    expect(runs).toBe(3); // the first, then two more it asked for
    const t0 = Date.now();
    r.kick();
    expect(runs).toBe(4);
    expect(Date.now() - t0).toBeLessThan(10);
    await r.stop();
    r.kick();
    await sleep(30);
    expect(runs).toBe(4);
  });

  it("reports a failed run and runs again on the next kick", async () => {
    const errors: unknown[] = [];
    let fail = true;
    let ok = 0;
    const r = new CoalescedRun({
      minGapMs: 0,
      run: async () => {
        if (fail) throw new Error("database down");
        ok++;
      },
      onError: (err) => errors.push(err),
    });
    r.kick();
    await sleep(10);
    expect(errors.map((e) => (e as Error).message)).toEqual(["database down"]);
    fail = false;
    r.kick();
    await sleep(10);
    expect(ok).toBe(1);
    await r.stop();
  });
});
