// Original file: runtime/proto/framefleet.proto

import type { Gpu as _framefleet_v1_Gpu, Gpu__Output as _framefleet_v1_Gpu__Output } from '../../framefleet/v1/Gpu';
import type { Engine as _framefleet_v1_Engine, Engine__Output as _framefleet_v1_Engine__Output } from '../../framefleet/v1/Engine';
import type { Long } from '@grpc/proto-loader';

export interface Capacity {
  'cpuMillis'?: (number);
  'memoryMb'?: (number | string | Long);
  'gpus'?: (number);
  'gpuDevices'?: (_framefleet_v1_Gpu)[];
  'engines'?: (_framefleet_v1_Engine)[];
  'pools'?: (string)[];
  'capacityType'?: (string);
  'instanceType'?: (string);
  'pullsImages'?: (boolean);
}

export interface Capacity__Output {
  'cpuMillis': (number);
  'memoryMb': (string);
  'gpus': (number);
  'gpuDevices': (_framefleet_v1_Gpu__Output)[];
  'engines': (_framefleet_v1_Engine__Output)[];
  'pools': (string)[];
  'capacityType': (string);
  'instanceType': (string);
  'pullsImages': (boolean);
}
