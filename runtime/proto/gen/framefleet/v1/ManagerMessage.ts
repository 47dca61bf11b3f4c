// Original file: runtime/proto/framefleet.proto

import type { Welcome as _framefleet_v1_Welcome, Welcome__Output as _framefleet_v1_Welcome__Output } from '../../framefleet/v1/Welcome';
import type { Assignment as _framefleet_v1_Assignment, Assignment__Output as _framefleet_v1_Assignment__Output } from '../../framefleet/v1/Assignment';
import type { Cancel as _framefleet_v1_Cancel, Cancel__Output as _framefleet_v1_Cancel__Output } from '../../framefleet/v1/Cancel';
import type { Certificate as _framefleet_v1_Certificate, Certificate__Output as _framefleet_v1_Certificate__Output } from '../../framefleet/v1/Certificate';
import type { Drain as _framefleet_v1_Drain, Drain__Output as _framefleet_v1_Drain__Output } from '../../framefleet/v1/Drain';

export interface ManagerMessage {
  'welcome'?: (_framefleet_v1_Welcome | null);
  'assignment'?: (_framefleet_v1_Assignment | null);
  'cancel'?: (_framefleet_v1_Cancel | null);
  'certificate'?: (_framefleet_v1_Certificate | null);
  'drain'?: (_framefleet_v1_Drain | null);
  'body'?: "welcome"|"assignment"|"cancel"|"certificate"|"drain";
}

export interface ManagerMessage__Output {
  'welcome'?: (_framefleet_v1_Welcome__Output | null);
  'assignment'?: (_framefleet_v1_Assignment__Output | null);
  'cancel'?: (_framefleet_v1_Cancel__Output | null);
  'certificate'?: (_framefleet_v1_Certificate__Output | null);
  'drain'?: (_framefleet_v1_Drain__Output | null);
  'body'?: "welcome"|"assignment"|"cancel"|"certificate"|"drain";
}
