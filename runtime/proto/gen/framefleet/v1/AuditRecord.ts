// Original file: runtime/proto/framefleet.proto


export interface AuditRecord {
  'kind'?: (string);
  'dataJson'?: (string);
}

export interface AuditRecord__Output {
  'kind': (string);
  'dataJson': (string);
}
