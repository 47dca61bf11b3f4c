// Which container CLI runs engine images on this host. Podman and Docker take the
// same flags for everything the container runner uses (GPU devices aside), so the
// runner only needs to know which one it has and what it is called.
import { access } from "node:fs/promises";
import { constants } from "node:fs";
import path from "node:path";

export interface ContainerCli {
  /** absolute path of the executable */
  path: string;
  kind: "podman" | "docker";
}

export class ContainerCliNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContainerCliNotFoundError";
  }
}

async function executable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(bin: string, envPath: string): Promise<string | undefined> {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, bin);
    if (await executable(p)) return p;
  }
  return undefined;
}

function kindOf(p: string): "podman" | "docker" {
  // a wrapper named e.g. "podman-remote" or "/usr/local/bin/docker" says what it speaks
  return /podman/.test(path.basename(p)) ? "podman" : "docker";
}

/** FRAMEFLEET_CONTAINER_CLI, else podman, else docker on PATH; a clear error naming both when neither is there. */
export async function findContainerCli(env: NodeJS.ProcessEnv = process.env): Promise<ContainerCli> {
  const envPath = env.PATH ?? "";
  const chosen = env.FRAMEFLEET_CONTAINER_CLI;
  if (chosen) {
    const p = chosen.includes(path.sep) ? ((await executable(chosen)) ? chosen : undefined) : await onPath(chosen, envPath);
    if (!p) throw new ContainerCliNotFoundError(`FRAMEFLEET_CONTAINER_CLI: ${JSON.stringify(chosen)} is not an executable on this host`);
    return { path: p, kind: kindOf(p) };
  }
  for (const bin of ["podman", "docker"] as const) {
    const p = await onPath(bin, envPath);
    if (p) return { path: p, kind: bin };
  }
  throw new ContainerCliNotFoundError(
    "the container runner needs podman or docker, and neither is on PATH (install one: apt-get install -y podman runc, or set FRAMEFLEET_CONTAINER_CLI)",
  );
}
