// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';

export interface Heartbeat {
  'running'?: (_framefleet_v1_TaskRef)[];
  'draining'?: (boolean);
  'interruptionNotice'?: (string);
}

export interface Heartbeat__Output {
  'running': (_framefleet_v1_TaskRef__Output)[];
  'draining': (boolean);
  'interruptionNotice': (string);
}
