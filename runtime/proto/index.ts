// Loads the one wire contract at run time; the static types in ./gen come from
// the same file (`npm run proto:gen`), so code and wire cannot drift apart silently.
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ProtoGrpcType } from "./gen/framefleet.js";

export const PROTO_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), "framefleet.proto");

let cached: ProtoGrpcType | undefined;

export function loadProto(): ProtoGrpcType {
  if (!cached) {
    const def = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}

export type { CoordinatorMessage__Output } from "./gen/framefleet/v1/CoordinatorMessage.js";
export type { ManagerMessage } from "./gen/framefleet/v1/ManagerMessage.js";
export type { ManagerMessage__Output } from "./gen/framefleet/v1/ManagerMessage.js";
export type { CoordinatorMessage } from "./gen/framefleet/v1/CoordinatorMessage.js";
export type { WorkerMessage, WorkerMessage__Output } from "./gen/framefleet/v1/WorkerMessage.js";
export type { ReportAck, ReportAck__Output } from "./gen/framefleet/v1/ReportAck.js";
export type { Assignment, Assignment__Output } from "./gen/framefleet/v1/Assignment.js";
export type { TaskRef, TaskRef__Output } from "./gen/framefleet/v1/TaskRef.js";
export type { Capacity, Capacity__Output } from "./gen/framefleet/v1/Capacity.js";
export type { JoinRequest, JoinResponse, JoinResponse__Output } from "./gen/framefleet/v1/index.js";
export type { CoordinatorClient, CoordinatorHandlers } from "./gen/framefleet/v1/Coordinator.js";
export type { WorkerClient, WorkerHandlers } from "./gen/framefleet/v1/Worker.js";

/** Epochs travel as int64; proto-loader hands them over as strings. */
export function epochOf(ref: { epoch?: string | number | null }): number {
  const n = Number(ref.epoch ?? 0);
  return Number.isSafeInteger(n) ? n : 0;
}
