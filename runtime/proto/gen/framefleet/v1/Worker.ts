// Original file: runtime/proto/framefleet.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ReportAck as _framefleet_v1_ReportAck, ReportAck__Output as _framefleet_v1_ReportAck__Output } from '../../framefleet/v1/ReportAck';
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
  
}

export interface WorkerHandlers extends grpc.UntypedServiceImplementation {
  Report: grpc.handleClientStreamingCall<_framefleet_v1_WorkerMessage__Output, _framefleet_v1_ReportAck>;
  
}

export interface WorkerDefinition extends grpc.ServiceDefinition {
  Report: MethodDefinition<_framefleet_v1_WorkerMessage, _framefleet_v1_ReportAck, _framefleet_v1_WorkerMessage__Output, _framefleet_v1_ReportAck__Output>
}
