// Original file: runtime/proto/framefleet.proto

import type { Capacity as _framefleet_v1_Capacity, Capacity__Output as _framefleet_v1_Capacity__Output } from '../../framefleet/v1/Capacity';
import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';

export interface Hello {
  'capacity'?: (_framefleet_v1_Capacity | null);
  'running'?: (_framefleet_v1_TaskRef)[];
  'hostname'?: (string);
  'version'?: (string);
}

export interface Hello__Output {
  'capacity': (_framefleet_v1_Capacity__Output | null);
  'running': (_framefleet_v1_TaskRef__Output)[];
  'hostname': (string);
  'version': (string);
}
