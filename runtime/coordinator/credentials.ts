// The coordinator's identity: a key made on this host (it never leaves it) and
// a certificate obtained once with a one-time join token, kept in the state dir.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../proto/index.js";
import type { CoordinatorClient, JoinResponse__Output } from "../proto/index.js";
import { certificateInfo, generateKeyAndCsr, identityOf } from "../pki/index.js";

export interface CoordinatorCredentials {
  coordinatorId: string;
  keyPem: string;
  certChainPem: string;
  trustPem: string;
}

const FILES = { key: "coordinator.key", chain: "coordinator.crt", trust: "trust.crt" } as const;

export function loadCredentials(stateDir: string): CoordinatorCredentials | undefined {
  try {
    const keyPem = fs.readFileSync(path.join(stateDir, FILES.key), "utf8");
    const certChainPem = fs.readFileSync(path.join(stateDir, FILES.chain), "utf8");
    const trustPem = fs.readFileSync(path.join(stateDir, FILES.trust), "utf8");
    if (certificateInfo(certChainPem).notAfter.getTime() <= Date.now()) return undefined;
    const id = identityOf(certChainPem);
    if (id.kind !== "coordinator") return undefined;
    return { coordinatorId: id.id, keyPem, certChainPem, trustPem };
  } catch {
    return undefined;
  }
}

export function saveCredentials(stateDir: string, c: { keyPem: string; certChainPem: string; trustPem: string }): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const write = (name: string, data: string) => {
    const tmp = path.join(stateDir, `.${name}.tmp`);
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, path.join(stateDir, name));
  };
  write(FILES.key, c.keyPem);
  write(FILES.chain, c.certChainPem);
  write(FILES.trust, c.trustPem);
}

/**
 * Joins the region over the join port: TLS with the manager's certificate
 * checked against `trustPem` when we have it (a bootstrap bundle), else the
 * pinned root handed out with the token.
 */
export async function join(opts: {
  joinAddress: string;
  token: string;
  trustPem: string;
  serverName?: string;
  stateDir: string;
}): Promise<CoordinatorCredentials> {
  const { keyPem, csrPem } = generateKeyAndCsr({ commonName: os.hostname() });
  const proto = loadProto().framefleet.v1;
  const creds = grpc.credentials.createSsl(Buffer.from(opts.trustPem));
  const client = new proto.Coordinator(
    opts.joinAddress,
    creds,
    opts.serverName ? { "grpc.ssl_target_name_override": opts.serverName } : {},
  ) as unknown as CoordinatorClient;
  try {
    const res = await new Promise<JoinResponse__Output>((resolve, reject) =>
      client.Join({ token: opts.token, csrPem, hostname: os.hostname() }, { deadline: Date.now() + 20_000 }, (err, r) =>
        err ? reject(new Error(`join refused: ${err.details || err.message}`)) : resolve(r!),
      ),
    );
    // the chain is the leaf followed by the region intermediate: what TLS presents
    const certChainPem = res.chainPem;
    saveCredentials(opts.stateDir, { keyPem, certChainPem, trustPem: res.trustPem });
    return { coordinatorId: res.coordinatorId, keyPem, certChainPem, trustPem: res.trustPem };
  } finally {
    client.close();
  }
}
