// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';

// Original file: runtime/proto/framefleet.proto

export const _framefleet_v1_TaskEvent_Kind = {
  KIND_UNSPECIFIED: 'KIND_UNSPECIFIED',
  STARTED: 'STARTED',
  EXITED: 'EXITED',
  REJECTED: 'REJECTED',
} as const;

export type _framefleet_v1_TaskEvent_Kind =
  | 'KIND_UNSPECIFIED'
  | 0
  | 'STARTED'
  | 1
  | 'EXITED'
  | 2
  | 'REJECTED'
  | 3

export type _framefleet_v1_TaskEvent_Kind__Output = typeof _framefleet_v1_TaskEvent_Kind[keyof typeof _framefleet_v1_TaskEvent_Kind]

export interface TaskEvent {
  'task'?: (_framefleet_v1_TaskRef | null);
  'kind'?: (_framefleet_v1_TaskEvent_Kind);
  'exitCode'?: (number);
  'signal'?: (string);
  'reason'?: (string);
}

export interface TaskEvent__Output {
  'task': (_framefleet_v1_TaskRef__Output | null);
  'kind': (_framefleet_v1_TaskEvent_Kind__Output);
  'exitCode': (number);
  'signal': (string);
  'reason': (string);
}
