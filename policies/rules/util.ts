// Small, dependency-free helpers shared by the rule modules.
import type { ResourceView, StackResourceView } from "./types.js";

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `get(o, "a.b.0.c")`: a property path through objects and arrays; undefined when any step is missing. */
export function get(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const key of path.split(".")) {
    if (Array.isArray(cur)) cur = cur[Number(key)];
    else if (isObj(cur)) cur = cur[key];
    else return undefined;
  }
  return cur;
}

export function arr(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

export function objs(v: unknown): Obj[] {
  return arr(v).filter(isObj);
}

export function strs(v: unknown): string[] {
  return arr(v).filter((x): x is string => typeof x === "string");
}

/** The Terraform-bridged providers record some booleans as strings ("true"). */
export function isTrue(v: unknown): boolean {
  return v === true || v === "true" || v === "True" || v === "TRUE";
}
export function isFalse(v: unknown): boolean {
  return v === false || v === "false" || v === "False" || v === "FALSE";
}

export function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export const WORLD_V4 = ["0.0.0.0/0", "0.0.0.0"];
export const WORLD_V6 = ["::/0"];
/** Azure service tags and wildcards that mean "anyone on the internet". */
export const AZURE_WORLD = ["*", "internet", "any", "0.0.0.0/0", "::/0"];

export function isWorldCidr(c: unknown): boolean {
  return typeof c === "string" && (WORLD_V4.includes(c.trim()) || WORLD_V6.includes(c.trim()));
}

/** Parse "443", "8000-8100", "*" into an inclusive range. */
export function parsePortRange(v: unknown): [number, number] | undefined {
  if (typeof v === "number") return [v, v];
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  if (s === "*" || s === "") return [0, 65535];
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return [lo, hi];
}

/** true when every port in [lo, hi] is one of `allowed` */
export function rangeWithin([lo, hi]: [number, number], allowed: number[]): boolean {
  if (hi - lo > 1024) return false;
  for (let p = lo; p <= hi; p++) if (!allowed.includes(p)) return false;
  return true;
}

export function fmtRange([lo, hi]: [number, number]): string {
  if (lo === 0 && hi === 65535) return "all ports";
  return lo === hi ? `port ${lo}` : `ports ${lo}-${hi}`;
}

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
export function containsPrivateKey(v: unknown): boolean {
  if (typeof v !== "string") return false;
  if (PEM_PRIVATE_KEY.test(v)) return true;
  const dec = maybeBase64(v);
  return dec !== undefined && PEM_PRIVATE_KEY.test(dec);
}

/** Decode a string that looks like base64 (user data, Kubernetes Secret data); undefined otherwise. */
export function maybeBase64(v: string): string | undefined {
  const s = v.replace(/\s+/g, "");
  if (s.length < 16 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+=*$/.test(s)) return undefined;
  try {
    const out = Buffer.from(s, "base64").toString("utf8");
    // mostly printable text (tab, newline, carriage return and ASCII 0x20-0x7e)?
    let printable = 0;
    for (let k = 0; k < out.length; k++) {
      const c = out.charCodeAt(k);
      if (c === 9 || c === 10 || c === 13 || (c >= 32 && c <= 126)) printable++;
    }
    return printable / Math.max(out.length, 1) > 0.9 ? out : undefined;
  } catch {
    return undefined;
  }
}

/** Walk every leaf string of a value with its dotted path. */
export function walkStrings(v: unknown, visit: (path: string, s: string) => void, path = ""): void {
  if (typeof v === "string") visit(path, v);
  else if (Array.isArray(v)) v.forEach((x, i) => walkStrings(x, visit, path ? `${path}.${i}` : String(i)));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) walkStrings(x, visit, path ? `${path}.${k}` : k);
}

/** Tags as a flat map: AWS/Azure tag maps and the ASG `tags: [{key, value}]` list. */
export function tagsOf(props: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  const t = props.tags;
  if (Array.isArray(t)) {
    for (const e of t) if (isObj(e) && typeof e.key === "string") out[e.key] = String(e.value ?? "");
  } else if (isObj(t)) {
    for (const [k, v] of Object.entries(t)) out[k] = String(v);
  }
  for (const l of [props.labels, props.resourceLabels]) if (isObj(l)) for (const [k, v] of Object.entries(l)) out[k] = String(v);
  return out;
}

/** Component types a resource sits under, read from its URN ("parent$child" qualified type). */
export function typeChain(urn: string): string[] {
  const parts = urn.split("::");
  const qualified = parts.length >= 4 ? parts[2]! : "";
  return qualified ? qualified.split("$") : [];
}

/** Is the resource part of the manager (by component ancestry, or by name when outside any component)? */
export function isManagerScoped(r: ResourceView, pattern = "manager"): boolean {
  const re = new RegExp(pattern, "i");
  return typeChain(r.urn).some((t) => t.startsWith("framefleet:manager:")) || re.test(r.name) || re.test(r.urn.split("::").pop() ?? "");
}

/** Is the resource part of a worker pool component? */
export function isWorkerScoped(r: ResourceView): boolean {
  return typeChain(r.urn).some((t) => t.startsWith("framefleet:workers:"));
}

export function label(r: ResourceView): string {
  return `${r.type.split(":").pop()} "${r.name}"`;
}

/**
 * Cross-references between resources. Under Pulumi's mocks an Output like `subnet.id` resolves to the
 * id the mock returned; real ids are cloud ids. We index every resource under the strings a reference
 * to it can take: its logical name, the usual mock id shapes (`<name>_id`, `<name>-id`), an explicit
 * `id`/`name` input, and match cloud-style paths by their last segment (".../subnets/<name>").
 */
export class RefIndex {
  private byKey = new Map<string, StackResourceView[]>();
  constructor(readonly resources: StackResourceView[]) {
    for (const r of resources) {
      const keys = new Set<string>([r.name, `${r.name}_id`, `${r.name}-id`, `${r.name}Id`, r.urn]);
      for (const k of ["id", "name", "arn", "selfLink", "bucket", "subnetName", "virtualNetworkName", "networkSecurityGroupName"]) {
        const v = r.props[k];
        if (typeof v === "string" && v) keys.add(v);
      }
      for (const k of keys) {
        const list = this.byKey.get(k) ?? [];
        list.push(r);
        this.byKey.set(k, list);
      }
    }
  }
  /** The resource a reference points at, optionally restricted to the given types. */
  resolve(ref: unknown, types?: readonly string[]): StackResourceView | undefined {
    if (isObj(ref) && typeof ref.id === "string") ref = ref.id;
    if (typeof ref !== "string" || ref === "") return undefined;
    const ok = (r: StackResourceView) => !types || types.includes(r.type);
    const exact = this.byKey.get(ref)?.find(ok);
    if (exact) return exact;
    // cloud-style paths: ".../subnetworks/<name>", "arn:...:subnet/<id>"
    const last = ref.split(/[/:]/).filter(Boolean).pop();
    if (last && last !== ref) return this.byKey.get(last)?.find(ok);
    return undefined;
  }
  ofType(...types: string[]): StackResourceView[] {
    return this.resources.filter((r) => types.includes(r.type));
  }
}
