// Original file: runtime/proto/framefleet.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CoordinatorMessage as _framefleet_v1_CoordinatorMessage, CoordinatorMessage__Output as _framefleet_v1_CoordinatorMessage__Output } from '../../framefleet/v1/CoordinatorMessage';
import type { JoinRequest as _framefleet_v1_JoinRequest, JoinRequest__Output as _framefleet_v1_JoinRequest__Output } from '../../framefleet/v1/JoinRequest';
import type { JoinResponse as _framefleet_v1_JoinResponse, JoinResponse__Output as _framefleet_v1_JoinResponse__Output } from '../../framefleet/v1/JoinResponse';
import type { ManagerMessage as _framefleet_v1_ManagerMessage, ManagerMessage__Output as _framefleet_v1_ManagerMessage__Output } from '../../framefleet/v1/ManagerMessage';

export interface CoordinatorClient extends grpc.Client {
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_framefleet_v1_CoordinatorMessage, _framefleet_v1_ManagerMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_framefleet_v1_CoordinatorMessage, _framefleet_v1_ManagerMessage__Output>;
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_framefleet_v1_CoordinatorMessage, _framefleet_v1_ManagerMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_framefleet_v1_CoordinatorMessage, _framefleet_v1_ManagerMessage__Output>;
  
  Join(argument: _framefleet_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _framefleet_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_framefleet_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _framefleet_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _framefleet_v1_JoinRequest, callback: grpc.requestCallback<_framefleet_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _framefleet_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _framefleet_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_framefleet_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _framefleet_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_framefleet_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _framefleet_v1_JoinRequest, callback: grpc.requestCallback<_framefleet_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface CoordinatorHandlers extends grpc.UntypedServiceImplementation {
  Connect: grpc.handleBidiStreamingCall<_framefleet_v1_CoordinatorMessage__Output, _framefleet_v1_ManagerMessage>;
  
  Join: grpc.handleUnaryCall<_framefleet_v1_JoinRequest__Output, _framefleet_v1_JoinResponse>;
  
}

export interface CoordinatorDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_framefleet_v1_CoordinatorMessage, _framefleet_v1_ManagerMessage, _framefleet_v1_CoordinatorMessage__Output, _framefleet_v1_ManagerMessage__Output>
  Join: MethodDefinition<_framefleet_v1_JoinRequest, _framefleet_v1_JoinResponse, _framefleet_v1_JoinRequest__Output, _framefleet_v1_JoinResponse__Output>
}
