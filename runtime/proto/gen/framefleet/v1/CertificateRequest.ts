// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';

export interface CertificateRequest {
  'task'?: (_framefleet_v1_TaskRef | null);
  'csrPem'?: (string);
  'renewSelf'?: (boolean);
}

export interface CertificateRequest__Output {
  'task': (_framefleet_v1_TaskRef__Output | null);
  'csrPem': (string);
  'renewSelf': (boolean);
}
