// Original file: runtime/proto/framefleet.proto


export interface SignResponse {
  'requestJson'?: (string);
  'uploadId'?: (string);
}

export interface SignResponse__Output {
  'requestJson': (string);
  'uploadId': (string);
}
