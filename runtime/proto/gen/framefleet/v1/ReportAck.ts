// Original file: runtime/proto/framefleet.proto


export interface ReportAck {
  'accepted'?: (boolean);
  'reason'?: (string);
}

export interface ReportAck__Output {
  'accepted': (boolean);
  'reason': (string);
}
