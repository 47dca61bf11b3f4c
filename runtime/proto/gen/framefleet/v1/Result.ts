// Original file: runtime/proto/framefleet.proto


// Original file: runtime/proto/framefleet.proto

export const _framefleet_v1_Result_Outcome = {
  OUTCOME_UNSPECIFIED: 'OUTCOME_UNSPECIFIED',
  SUCCEEDED: 'SUCCEEDED',
  SKIPPED: 'SKIPPED',
  FAILED: 'FAILED',
  FAILED_PERMANENT: 'FAILED_PERMANENT',
  CANCELLED: 'CANCELLED',
} as const;

export type _framefleet_v1_Result_Outcome =
  | 'OUTCOME_UNSPECIFIED'
  | 0
  | 'SUCCEEDED'
  | 1
  | 'SKIPPED'
  | 2
  | 'FAILED'
  | 3
  | 'FAILED_PERMANENT'
  | 4
  | 'CANCELLED'
  | 5

export type _framefleet_v1_Result_Outcome__Output = typeof _framefleet_v1_Result_Outcome[keyof typeof _framefleet_v1_Result_Outcome]

export interface Result {
  'outcome'?: (_framefleet_v1_Result_Outcome);
  'resultJson'?: (string);
  'error'?: (string);
}

export interface Result__Output {
  'outcome': (_framefleet_v1_Result_Outcome__Output);
  'resultJson': (string);
  'error': (string);
}
