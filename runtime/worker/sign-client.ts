// The worker's signer for presigned stores: asks the manager (Worker.Sign, on the
// worker's own task-scoped certificate) to sign each write of its attempt. The worker
// holds no store credentials; the manager checks lease and scope on every call.
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../proto/index.js";
import type { WorkerClient } from "../proto/index.js";
import type { GrantSigner } from "../storage/presigned.js";
import type { SignedRequest } from "../storage/signing.js";

export function signClient(opts: {
  address: string;
  serverName?: string;
  tls: { keyPem: string; certChainPem: string; trustPem: string };
  task: { taskId: string; attempt: number; epoch: string };
  timeoutMs?: number;
}): { signer: GrantSigner; close(): void } {
  let client: WorkerClient | undefined;
  const get = () => {
    if (!client) {
      const proto = loadProto().framefleet.v1;
      const creds = grpc.credentials.createSsl(
        Buffer.from(opts.tls.trustPem),
        Buffer.from(opts.tls.keyPem),
        Buffer.from(opts.tls.certChainPem),
      );
      client = new proto.Worker(
        opts.address,
        creds,
        opts.serverName ? { "grpc.ssl_target_name_override": opts.serverName } : {},
      ) as unknown as WorkerClient;
    }
    return client;
  };
  const signer: GrantSigner = (req) =>
    new Promise((resolve, reject) => {
      get().Sign(
        {
          task: opts.task,
          store: req.store,
          op: req.op,
          key: req.key,
          uploadId: req.uploadId ?? "",
          partNumber: req.partNumber ?? 0,
          partsJson: req.parts ? JSON.stringify(req.parts) : "",
        },
        { deadline: Date.now() + (opts.timeoutMs ?? 30_000) },
        (err, res) => {
          if (err) return reject(new Error(`store grant refused: ${err.details || err.message}`));
          resolve({
            ...(res?.requestJson ? { request: JSON.parse(res.requestJson) as SignedRequest } : {}),
            ...(res?.uploadId ? { uploadId: res.uploadId } : {}),
          });
        },
      );
    });
  return { signer, close: () => client?.close() };
}
