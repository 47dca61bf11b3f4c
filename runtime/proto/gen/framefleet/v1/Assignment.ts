// Original file: runtime/proto/framefleet.proto

import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from '../../framefleet/v1/TaskRef';
import type { Long } from '@grpc/proto-loader';

export interface Assignment {
  'task'?: (_framefleet_v1_TaskRef | null);
  'jobId'?: (string);
  'taskKey'?: (string);
  'kind'?: (string);
  'pool'?: (string);
  'specJson'?: (string);
  'depsJson'?: (string);
  'engineName'?: (string);
  'engineVersion'?: (string);
  'cpuMillis'?: (number);
  'memoryMb'?: (number | string | Long);
  'gpus'?: (number);
  'storesJson'?: (string);
  'leaseExpiresUnixMs'?: (number | string | Long);
  'engineImage'?: (string);
}

export interface Assignment__Output {
  'task': (_framefleet_v1_TaskRef__Output | null);
  'jobId': (string);
  'taskKey': (string);
  'kind': (string);
  'pool': (string);
  'specJson': (string);
  'depsJson': (string);
  'engineName': (string);
  'engineVersion': (string);
  'cpuMillis': (number);
  'memoryMb': (string);
  'gpus': (number);
  'storesJson': (string);
  'leaseExpiresUnixMs': (string);
  'engineImage': (string);
}
