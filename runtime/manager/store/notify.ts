import type { Queryable } from "./db.js";

/** Tells the replica holding these coordinators' streams that they have new leases. */
export async function notifyAssigned(db: Queryable, fromReplica: string, coordinators: string[]): Promise<void> {
  await db.query("SELECT pg_notify('ff_assign', $1)", [JSON.stringify({ from: fromReplica, coordinators })]);
}
