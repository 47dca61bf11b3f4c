// The local fleet on a real PostgreSQL: scheduling passes overlap (the manager
// fires onPass without awaiting it), and overlapping passes must not start more
// coordinator processes than maxCoordinators allows.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../../test/support/db.js";
import { createDb, type Db } from "../store/index.js";
import type { PassStats } from "../scheduler/scheduler.js";
import { LocalFleet } from "./local.js";

let db: Db;
let drop: () => Promise<void>;
let stateRoot: string;
beforeAll(async () => {
  const t = await createTestDatabase("localfleet");
  drop = t.drop;
  db = createDb(t.url);
  stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-localfleet-"));
});
afterAll(async () => {
  await db?.end();
  await drop?.();
  fs.rmSync(stateRoot, { recursive: true, force: true });
});

const waiting = (): PassStats => ({
  placed: 0,
  placedOn: new Set(),
  unplaced: [{ id: "t1", pool: "encode", cpuMillis: 1000, memoryMb: 512, gpus: 0, engineName: "ffmpeg", engineVersion: "5.1" }],
  hosts: [],
  durationMs: 1,
});

describe("local fleet", () => {
  it("starts one coordinator however many passes overlap, and no more than maxCoordinators", async () => {
    const fleet = new LocalFleet({
      db,
      region: "test",
      // nothing listens here: the processes only have to exist, not join
      managerAddress: "127.0.0.1:9",
      joinAddress: "127.0.0.1:9",
      trustPem: "-",
      stateRoot,
      maxCoordinators: 1,
      idleTimeoutMs: 60_000,
    });
    try {
      await Promise.all([fleet.onPass(waiting()), fleet.onPass(waiting()), fleet.onPass(waiting())]);
      expect(fleet.size()).toBe(1);
      expect(fleet.list()).toHaveLength(1);
      // a later pass while that one boots starts nothing either
      await fleet.onPass(waiting());
      expect(fleet.size()).toBe(1);
      const tokens = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM join_tokens");
      expect(tokens.rows[0]!.n).toBe(1);
    } finally {
      await fleet.stop();
    }
  });
});
