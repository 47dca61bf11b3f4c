import * as grpc from "@grpc/grpc-js";
import { identityOf, type Identity } from "../../pki/index.js";

export class RpcAuthError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The caller's identity, from the client certificate the TLS layer already
 * verified against the region's CA. Nothing in a message body can claim one.
 */
export function callerIdentity(call: { getAuthContext(): { sslPeerCertificate?: { raw?: Buffer } } | null }, region: string): Identity {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (!cert?.raw || cert.raw.length === 0) throw new RpcAuthError(grpc.status.UNAUTHENTICATED, "a client certificate is required");
  let id: Identity;
  try {
    id = identityOf(cert.raw);
  } catch (err) {
    throw new RpcAuthError(grpc.status.UNAUTHENTICATED, `client certificate carries no framefleet identity: ${(err as Error).message}`);
  }
  if (id.region !== region)
    throw new RpcAuthError(grpc.status.PERMISSION_DENIED, `certificate is for region ${id.region}, this is ${region}`);
  return id;
}
