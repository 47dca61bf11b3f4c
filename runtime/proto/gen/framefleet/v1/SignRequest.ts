// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';

export interface SignRequest {
  'task'?: (_framefleet_v1_TaskRef | null);
  'store'?: (string);
  'op'?: (string);
  'key'?: (string);
  'uploadId'?: (string);
  'partNumber'?: (number);
  'partsJson'?: (string);
}

export interface SignRequest__Output {
  'task': (_framefleet_v1_TaskRef__Output | null);
  'store': (string);
  'op': (string);
  'key': (string);
  'uploadId': (string);
  'partNumber': (number);
  'partsJson': (string);
}
