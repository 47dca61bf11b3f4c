import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadOrCreateRegionPki, type RegionPki } from "../../runtime/pki/index.js";
import type { RpcPki } from "../../runtime/manager/rpc/server.js";

export function testRegionPki(region = "local"): { pki: RegionPki; rpcPki: RpcPki; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-pki-"));
  const pki = loadOrCreateRegionPki(dir, region);
  return {
    pki,
    dir,
    rpcPki: {
      intermediate: pki.intermediate,
      trustPem: pki.trustPem,
      serverKeyPem: pki.manager.keyPem,
      serverChainPem: pki.manager.chainPem,
    },
  };
}
