// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';

export interface Cancel {
  'task'?: (_framefleet_v1_TaskRef | null);
  'reason'?: (string);
}

export interface Cancel__Output {
  'task': (_framefleet_v1_TaskRef__Output | null);
  'reason': (string);
}
