import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Assignment as _framefleet_v1_Assignment, Assignment__Output as _framefleet_v1_Assignment__Output } from './framefleet/v1/Assignment';
import type { AuditRecord as _framefleet_v1_AuditRecord, AuditRecord__Output as _framefleet_v1_AuditRecord__Output } from './framefleet/v1/AuditRecord';
import type { Cancel as _framefleet_v1_Cancel, Cancel__Output as _framefleet_v1_Cancel__Output } from './framefleet/v1/Cancel';
import type { Capacity as _framefleet_v1_Capacity, Capacity__Output as _framefleet_v1_Capacity__Output } from './framefleet/v1/Capacity';
import type { Certificate as _framefleet_v1_Certificate, Certificate__Output as _framefleet_v1_Certificate__Output } from './framefleet/v1/Certificate';
import type { CertificateRequest as _framefleet_v1_CertificateRequest, CertificateRequest__Output as _framefleet_v1_CertificateRequest__Output } from './framefleet/v1/CertificateRequest';
import type { CoordinatorClient as _framefleet_v1_CoordinatorClient, CoordinatorDefinition as _framefleet_v1_CoordinatorDefinition } from './framefleet/v1/Coordinator';
import type { CoordinatorMessage as _framefleet_v1_CoordinatorMessage, CoordinatorMessage__Output as _framefleet_v1_CoordinatorMessage__Output } from './framefleet/v1/CoordinatorMessage';
import type { Drain as _framefleet_v1_Drain, Drain__Output as _framefleet_v1_Drain__Output } from './framefleet/v1/Drain';
import type { Engine as _framefleet_v1_Engine, Engine__Output as _framefleet_v1_Engine__Output } from './framefleet/v1/Engine';
import type { Gpu as _framefleet_v1_Gpu, Gpu__Output as _framefleet_v1_Gpu__Output } from './framefleet/v1/Gpu';
import type { Heartbeat as _framefleet_v1_Heartbeat, Heartbeat__Output as _framefleet_v1_Heartbeat__Output } from './framefleet/v1/Heartbeat';
import type { Hello as _framefleet_v1_Hello, Hello__Output as _framefleet_v1_Hello__Output } from './framefleet/v1/Hello';
import type { JoinRequest as _framefleet_v1_JoinRequest, JoinRequest__Output as _framefleet_v1_JoinRequest__Output } from './framefleet/v1/JoinRequest';
import type { JoinResponse as _framefleet_v1_JoinResponse, JoinResponse__Output as _framefleet_v1_JoinResponse__Output } from './framefleet/v1/JoinResponse';
import type { ManagerMessage as _framefleet_v1_ManagerMessage, ManagerMessage__Output as _framefleet_v1_ManagerMessage__Output } from './framefleet/v1/ManagerMessage';
import type { Progress as _framefleet_v1_Progress, Progress__Output as _framefleet_v1_Progress__Output } from './framefleet/v1/Progress';
import type { ReportAck as _framefleet_v1_ReportAck, ReportAck__Output as _framefleet_v1_ReportAck__Output } from './framefleet/v1/ReportAck';
import type { Result as _framefleet_v1_Result, Result__Output as _framefleet_v1_Result__Output } from './framefleet/v1/Result';
import type { SignRequest as _framefleet_v1_SignRequest, SignRequest__Output as _framefleet_v1_SignRequest__Output } from './framefleet/v1/SignRequest';
import type { SignResponse as _framefleet_v1_SignResponse, SignResponse__Output as _framefleet_v1_SignResponse__Output } from './framefleet/v1/SignResponse';
import type { TaskEvent as _framefleet_v1_TaskEvent, TaskEvent__Output as _framefleet_v1_TaskEvent__Output } from './framefleet/v1/TaskEvent';
import type { TaskRef as _framefleet_v1_TaskRef, TaskRef__Output as _framefleet_v1_TaskRef__Output } from './framefleet/v1/TaskRef';
import type { Welcome as _framefleet_v1_Welcome, Welcome__Output as _framefleet_v1_Welcome__Output } from './framefleet/v1/Welcome';
import type { WorkerClient as _framefleet_v1_WorkerClient, WorkerDefinition as _framefleet_v1_WorkerDefinition } from './framefleet/v1/Worker';
import type { WorkerMessage as _framefleet_v1_WorkerMessage, WorkerMessage__Output as _framefleet_v1_WorkerMessage__Output } from './framefleet/v1/WorkerMessage';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  framefleet: {
    v1: {
      Assignment: MessageTypeDefinition<_framefleet_v1_Assignment, _framefleet_v1_Assignment__Output>
      AuditRecord: MessageTypeDefinition<_framefleet_v1_AuditRecord, _framefleet_v1_AuditRecord__Output>
      Cancel: MessageTypeDefinition<_framefleet_v1_Cancel, _framefleet_v1_Cancel__Output>
      Capacity: MessageTypeDefinition<_framefleet_v1_Capacity, _framefleet_v1_Capacity__Output>
      Certificate: MessageTypeDefinition<_framefleet_v1_Certificate, _framefleet_v1_Certificate__Output>
      CertificateRequest: MessageTypeDefinition<_framefleet_v1_CertificateRequest, _framefleet_v1_CertificateRequest__Output>
      Coordinator: SubtypeConstructor<typeof grpc.Client, _framefleet_v1_CoordinatorClient> & { service: _framefleet_v1_CoordinatorDefinition }
      CoordinatorMessage: MessageTypeDefinition<_framefleet_v1_CoordinatorMessage, _framefleet_v1_CoordinatorMessage__Output>
      Drain: MessageTypeDefinition<_framefleet_v1_Drain, _framefleet_v1_Drain__Output>
      Engine: MessageTypeDefinition<_framefleet_v1_Engine, _framefleet_v1_Engine__Output>
      Gpu: MessageTypeDefinition<_framefleet_v1_Gpu, _framefleet_v1_Gpu__Output>
      Heartbeat: MessageTypeDefinition<_framefleet_v1_Heartbeat, _framefleet_v1_Heartbeat__Output>
      Hello: MessageTypeDefinition<_framefleet_v1_Hello, _framefleet_v1_Hello__Output>
      JoinRequest: MessageTypeDefinition<_framefleet_v1_JoinRequest, _framefleet_v1_JoinRequest__Output>
      JoinResponse: MessageTypeDefinition<_framefleet_v1_JoinResponse, _framefleet_v1_JoinResponse__Output>
      ManagerMessage: MessageTypeDefinition<_framefleet_v1_ManagerMessage, _framefleet_v1_ManagerMessage__Output>
      Progress: MessageTypeDefinition<_framefleet_v1_Progress, _framefleet_v1_Progress__Output>
      ReportAck: MessageTypeDefinition<_framefleet_v1_ReportAck, _framefleet_v1_ReportAck__Output>
      Result: MessageTypeDefinition<_framefleet_v1_Result, _framefleet_v1_Result__Output>
      SignRequest: MessageTypeDefinition<_framefleet_v1_SignRequest, _framefleet_v1_SignRequest__Output>
      SignResponse: MessageTypeDefinition<_framefleet_v1_SignResponse, _framefleet_v1_SignResponse__Output>
      TaskEvent: MessageTypeDefinition<_framefleet_v1_TaskEvent, _framefleet_v1_TaskEvent__Output>
      TaskRef: MessageTypeDefinition<_framefleet_v1_TaskRef, _framefleet_v1_TaskRef__Output>
      Welcome: MessageTypeDefinition<_framefleet_v1_Welcome, _framefleet_v1_Welcome__Output>
      Worker: SubtypeConstructor<typeof grpc.Client, _framefleet_v1_WorkerClient> & { service: _framefleet_v1_WorkerDefinition }
      WorkerMessage: MessageTypeDefinition<_framefleet_v1_WorkerMessage, _framefleet_v1_WorkerMessage__Output>
    }
  }
}

