// Original file: runtime/proto/framefleet.proto


export interface JoinRequest {
  'token'?: (string);
  'csrPem'?: (string);
  'hostname'?: (string);
}

export interface JoinRequest__Output {
  'token': (string);
  'csrPem': (string);
  'hostname': (string);
}
