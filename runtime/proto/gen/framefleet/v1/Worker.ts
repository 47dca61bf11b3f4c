// Original file: runtime/proto/framefleet.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ReportAck as _framefleet_v1_ReportAck, ReportAck__Output as _framefleet_v1_ReportAck__Output } from '../../framefleet/v1/ReportAck';
import type { SignRequest as _framefleet_v1_SignRequest, SignRequest__Output as _framefleet_v1_SignRequest__Output } from '../../framefleet/v1/SignRequest';
import type { SignResponse as _framefleet_v1_SignResponse, SignResponse__Output as _framefleet_v1_SignResponse__Output } from '../../framefleet/v1/SignResponse';
import type { WorkerMessage as _framefleet_v1_WorkerMessage, WorkerMessage__Output as _framefleet_v1_WorkerMessage__Output } from '../../framefleet/v1/WorkerMessage';

export interface WorkerClient extends grpc.Client {
  Report(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_ReportAck__Output>): grpc.ClientWritableStream<_framefleet_v1_WorkerMessage>;
  Report(metadata: grpc.Metadata, callback: grpc.requestCallback<_framefleet_v1_ReportAck__Output>): grpc.ClientWritableStream<_framefleet_v1_WorkerMessage>;
  Report(options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_ReportAck__Output>): grpc.ClientWritableStream<_framefleet_v1_WorkerMessage>;
  Report(callback: grpc.requestCallback<_framefleet_v1_ReportAck__Output>): grpc.ClientWritableStream<_framefleet_v1_WorkerMessage>;
  report(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_ReportAck__Output>): grpc.ClientWritableStream<_framefleet_v1_WorkerMessage>;
  report(metadata: grpc.Metadata, callback: grpc.requestCallback<_framefleet_v1_ReportAck__Output>): grpc.ClientWritableStream<_framefleet_v1_WorkerMessage>;
  report(options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_ReportAck__Output>): grpc.ClientWritableStream<_framefleet_v1_WorkerMessage>;
  report(callback: grpc.requestCallback<_framefleet_v1_ReportAck__Output>): grpc.ClientWritableStream<_framefleet_v1_WorkerMessage>;
  
  Sign(argument: _framefleet_v1_SignRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  Sign(argument: _framefleet_v1_SignRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_framefleet_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  Sign(argument: _framefleet_v1_SignRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  Sign(argument: _framefleet_v1_SignRequest, callback: grpc.requestCallback<_framefleet_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  sign(argument: _framefleet_v1_SignRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  sign(argument: _framefleet_v1_SignRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_framefleet_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  sign(argument: _framefleet_v1_SignRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  sign(argument: _framefleet_v1_SignRequest, callback: grpc.requestCallback<_framefleet_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface WorkerHandlers extends grpc.UntypedServiceImplementation {
  Report: grpc.handleClientStreamingCall<_framefleet_v1_WorkerMessage__Output, _framefleet_v1_ReportAck>;
  
  Sign: grpc.handleUnaryCall<_framefleet_v1_SignRequest__Output, _framefleet_v1_SignResponse>;
  
}

export interface WorkerDefinition extends grpc.ServiceDefinition {
  Report: MethodDefinition<_framefleet_v1_WorkerMessage, _framefleet_v1_ReportAck, _framefleet_v1_WorkerMessage__Output, _framefleet_v1_ReportAck__Output>
  Sign: MethodDefinition<_framefleet_v1_SignRequest, _framefleet_v1_SignResponse, _framefleet_v1_SignRequest__Output, _framefleet_v1_SignResponse__Output>
}
