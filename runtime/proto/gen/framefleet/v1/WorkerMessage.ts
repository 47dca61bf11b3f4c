// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';
import type { Progress as _framefleet_v1_Progress, Progress__Output as _framefleet_v1_Progress__Output } from '../../framefleet/v1/Progress';
import type { AuditRecord as _framefleet_v1_AuditRecord, AuditRecord__Output as _framefleet_v1_AuditRecord__Output } from '../../framefleet/v1/AuditRecord';
import type { Result as _framefleet_v1_Result, Result__Output as _framefleet_v1_Result__Output } from '../../framefleet/v1/Result';

export interface WorkerMessage {
  'attach'?: (_framefleet_v1_TaskRef | null);
  'progress'?: (_framefleet_v1_Progress | null);
  'audit'?: (_framefleet_v1_AuditRecord | null);
  'result'?: (_framefleet_v1_Result | null);
  'body'?: "attach"|"progress"|"audit"|"result";
}

export interface WorkerMessage__Output {
  'attach'?: (_framefleet_v1_TaskRef__Output | null);
  'progress'?: (_framefleet_v1_Progress__Output | null);
  'audit'?: (_framefleet_v1_AuditRecord__Output | null);
  'result'?: (_framefleet_v1_Result__Output | null);
  'body'?: "attach"|"progress"|"audit"|"result";
}
