// Original file: runtime/proto/framefleet.proto


export interface Drain {
  'reason'?: (string);
}

export interface Drain__Output {
  'reason': (string);
}
