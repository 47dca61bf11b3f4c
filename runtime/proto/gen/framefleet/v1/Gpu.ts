// Original file: runtime/proto/framefleet.proto

import type { Long } from '@grpc/proto-loader';

export interface Gpu {
  'index'?: (number);
  'name'?: (string);
  'memoryMb'?: (number | string | Long);
  'uuid'?: (string);
}

export interface Gpu__Output {
  'index': (number);
  'name': (string);
  'memoryMb': (string);
  'uuid': (string);
}
