// Original file: runtime/proto/framefleet.proto


export interface Engine {
  'name'?: (string);
  'version'?: (string);
  'encoders'?: (string)[];
  'hwaccels'?: (string)[];
  'imageDigest'?: (string);
}

export interface Engine__Output {
  'name': (string);
  'version': (string);
  'encoders': (string)[];
  'hwaccels': (string)[];
  'imageDigest': (string);
}
