// Original file: runtime/proto/framefleet.proto


export interface JoinResponse {
  'coordinatorId'?: (string);
  'certPem'?: (string);
  'chainPem'?: (string);
  'trustPem'?: (string);
  'region'?: (string);
}

export interface JoinResponse__Output {
  'coordinatorId': (string);
  'certPem': (string);
  'chainPem': (string);
  'trustPem': (string);
  'region': (string);
}
