// Original file: runtime/proto/framefleet.proto


export interface Progress {
  'fraction'?: (number | string);
  'detail'?: (string);
}

export interface Progress__Output {
  'fraction': (number);
  'detail': (string);
}
