// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';

export interface Certificate {
  'task'?: (_framefleet_v1_TaskRef | null);
  'certPem'?: (string);
  'chainPem'?: (string);
  'error'?: (string);
  'self'?: (boolean);
}

export interface Certificate__Output {
  'task': (_framefleet_v1_TaskRef__Output | null);
  'certPem': (string);
  'chainPem': (string);
  'error': (string);
  'self': (boolean);
}
