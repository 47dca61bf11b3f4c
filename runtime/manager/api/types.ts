// The REST API's dependencies: the engine (validator, planner) and the lead's
// services (scheduler wake-up, cancel push, readiness) are injected, so the API
// has no import-time dependency on them and tests can pass their own.

import type { TSchema } from "@sinclair/typebox";
import type { PlannedTask } from "../../engine/types.js";
import type { Db } from "../store/index.js";

export interface FieldError {
  field: string;
  reason: string;
}

/** What the API needs to know of a validated composition: its engine pin. */
export interface CompositionLike {
  engine: { name: string; version: string };
}

export type CompositionValidator<C> = (input: unknown) => { ok: true; value: C } | { ok: false; errors: FieldError[] };

export interface RunningAttempt {
  taskId: string;
  attempt: number;
  epoch: number;
  coordinatorId: string;
}

export interface ApiDeps<C extends CompositionLike = CompositionLike> {
  db: Db;
  region: string;
  /** the engine's validator: checks and normalises a composition, never throws */
  validateComposition: CompositionValidator<C>;
  /** the engine's planner: a validated composition to its task DAG */
  planJob: (composition: C, opts: { jobId: string }) => PlannedTask[];
  /** store names a tenant may reference in store:// URIs */
  storesFor: (tenant: string) => string[] | Promise<string[]>;
  /** /v1/stores and /v1/watch-folders (api/stores.ts); absent: those routes are not served */
  storeRegistry?: Omit<import("./stores.js").StoreRouteDeps, "db" | "storesFor">;
  /** watch folders' bucket-notification endpoints (api/watch-notify.ts); absent: not served */
  watchNotify?: Omit<import("../watch-notify.js").NotifyDeps, "db">;
  /** called after a job is committed (wakes the scheduler) */
  onJobSubmitted?: (jobId: string) => void;
  /** called with the attempts that were running when a job was cancelled (pushes cancels to coordinators) */
  onCancelled?: (running: RunningAttempt[]) => void;
  /** /readyz: the manager's services are up (the database is checked as well) */
  isReady?: () => Promise<boolean>;
  logger?: boolean;
  /** largest request body accepted; default 1 MiB */
  bodyLimitBytes?: number;
  /** the composition's JSON Schema, published in the OpenAPI document as components.schemas.Composition */
  compositionSchema?: TSchema;
}
