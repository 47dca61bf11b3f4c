// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';

export interface Welcome {
  'coordinatorId'?: (string);
  'heartbeatIntervalMs'?: (number);
  'stale'?: (_framefleet_v1_TaskRef)[];
}

export interface Welcome__Output {
  'coordinatorId': (string);
  'heartbeatIntervalMs': (number);
  'stale': (_framefleet_v1_TaskRef__Output)[];
}
