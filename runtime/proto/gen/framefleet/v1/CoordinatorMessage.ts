// Original file: runtime/proto/framefleet.proto

import type { Hello as _framefleet_v1_Hello, Hello__Output as _framefleet_v1_Hello__Output } from '../../framefleet/v1/Hello';
import type { Heartbeat as _framefleet_v1_Heartbeat, Heartbeat__Output as _framefleet_v1_Heartbeat__Output } from '../../framefleet/v1/Heartbeat';
import type { TaskEvent as _framefleet_v1_TaskEvent, TaskEvent__Output as _framefleet_v1_TaskEvent__Output } from '../../framefleet/v1/TaskEvent';
import type { CertificateRequest as _framefleet_v1_CertificateRequest, CertificateRequest__Output as _framefleet_v1_CertificateRequest__Output } from '../../framefleet/v1/CertificateRequest';

export interface CoordinatorMessage {
  'hello'?: (_framefleet_v1_Hello | null);
  'heartbeat'?: (_framefleet_v1_Heartbeat | null);
  'taskEvent'?: (_framefleet_v1_TaskEvent | null);
  'certificateRequest'?: (_framefleet_v1_CertificateRequest | null);
  'body'?: "hello"|"heartbeat"|"taskEvent"|"certificateRequest";
}

export interface CoordinatorMessage__Output {
  'hello'?: (_framefleet_v1_Hello__Output | null);
  'heartbeat'?: (_framefleet_v1_Heartbeat__Output | null);
  'taskEvent'?: (_framefleet_v1_TaskEvent__Output | null);
  'certificateRequest'?: (_framefleet_v1_CertificateRequest__Output | null);
  'body'?: "hello"|"heartbeat"|"taskEvent"|"certificateRequest";
}
