// Records every resource a Pulumi program declares, using Pulumi's own mocks
// (`pulumi.runtime.setMocks`): no cloud API is called. Used by `npm run synth`,
// by the component tests and by the policy pack's offline checker.
import * as pulumi from "@pulumi/pulumi";
import type { RecordedResource } from "./types.js";
import { fakeInvoke, fakeState } from "./fakes.js";

// Pulumi's wire signature for a secret: { [SIG_KEY]: SECRET_SIG, value }
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Unwrap Pulumi's wire-format secrets, collecting the paths where they sat. */
export function unwrapSecrets(value: unknown, path: string, out: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, out));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) {
      out.push(path);
      return unwrapSecrets(obj.value, path, []);
    }
    if (value.constructor !== Object) return value; // assets, archives, resource references
    const res: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) res[k] = unwrapSecrets(v, path ? `${path}.${k}` : k, out);
    return res;
  }
  return value;
}

export interface RecorderOptions {
  /** state for a resource beyond its inputs (e.g. run a dynamic provider); merged over the defaults */
  newResource?: (
    args: pulumi.runtime.MockResourceArgs,
  ) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;
  /** results for invokes; return undefined to fall back to the built-in fakes */
  call?: (args: pulumi.runtime.MockCallArgs) => Record<string, unknown> | undefined;
  project?: string;
  stack?: string;
  /** record default providers (`pulumi:providers:*` named default*) too (default false) */
  includeDefaultProviders?: boolean;
}

export interface Recorder {
  records: RecordedResource[];
  /** resources of one type token */
  ofType(type: string): RecordedResource[];
  /** the one resource of `type` whose name ends with `suffix` */
  one(type: string, suffix?: string): RecordedResource;
  /** wait until every registration the program started has been recorded */
  settle(): Promise<void>;
}

/**
 * Install Pulumi mocks that record every registration. Must be called before the
 * program declares resources. Only one recorder is active per process at a time.
 */
export async function installRecorder(opts: RecorderOptions = {}): Promise<Recorder> {
  const records: RecordedResource[] = [];
  const parents = new Map<string, string>();
  const project = opts.project ?? "framefleet";
  const stack = opts.stack ?? "synth";

  const mocks: pulumi.runtime.Mocks = {
    async newResource(args) {
      const key = `${args.type}::${args.name}`;
      const urn = parents.get(`urn:${key}`) ?? `urn:pulumi:${stack}::${project}::${args.type}::${args.name}`;
      const parent = parents.get(`parent:${key}`);
      const isDefaultProvider = args.type.startsWith("pulumi:providers:") && args.name.startsWith("default");
      const secretPaths: string[] = [];
      const inputs = unwrapSecrets(args.inputs, "", secretPaths) as Record<string, unknown>;
      if (!isDefaultProvider || opts.includeDefaultProviders) {
        const rec: RecordedResource = { type: args.type, name: args.name, urn, inputs };
        if (parent) rec.parent = parent;
        if (secretPaths.length) rec.secretPaths = secretPaths;
        records.push(rec);
      }
      const extra = (await opts.newResource?.(args)) ?? {};
      const state = { ...fakeState(args.type, args.name, inputs), ...extra };
      return { id: String(state.id ?? `${args.name}-id`), state };
    },
    call(args) {
      return opts.call?.(args) ?? fakeInvoke(args.token, args.inputs);
    },
  };
  await pulumi.runtime.setMocks(mocks, project, stack, false);

  // Pulumi's mock args carry no parent; capture it (and the real URN) from the request itself.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource: (req: RegisterReq, cb: unknown) => unknown;
    newUrn: (parent: string, type: string, name: string) => string;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const key = `${req.getType()}::${req.getName()}`;
    if (req.getParent()) parents.set(`parent:${key}`, req.getParent());
    parents.set(`urn:${key}`, monitor.newUrn(req.getParent(), req.getType(), req.getName()));
    return original(req, cb);
  };

  return {
    records,
    ofType: (type) => records.filter((r) => r.type === type),
    one(type, suffix = "") {
      const found = records.filter((r) => r.type === type && r.name.endsWith(suffix));
      if (found.length !== 1) {
        throw new Error(`expected one ${type} named *${suffix}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
      }
      return found[0]!;
    },
    async settle() {
      const rt = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
      let last = -1;
      // Registrations can start inside applies that resolve after earlier RPCs; loop until quiet.
      for (let i = 0; i < 200 && last !== records.length; i++) {
        last = records.length;
        await rt.waitForRPCs?.();
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

interface RegisterReq {
  getType(): string;
  getName(): string;
  getParent(): string;
}

/** Resolve an Output (or plain value) to its value under mocks. */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Read a dotted/indexed path (`a.b[0].c`) from a record's inputs. */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "")) {
    if (cur === null || cur === undefined) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
