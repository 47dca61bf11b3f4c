// The offline checker: runs the pack's rules over resources recorded from a
// stack program under Pulumi's mocks (stacks/synth), with no Pulumi CLI and no
// cloud. Same rule objects as the CrossGuard pack; same enforcement levels and
// the same policy-config format (`pulumi ... --policy-pack-config`).
import { resolve } from "node:path";
import { synthStack, type SynthOptions } from "../stacks/synth/index.js";
import type { RecordedResource } from "../stacks/synth/types.js";
import { allRules, type EnforcementLevel, type Rule, type StackResourceView } from "./rules/index.js";

/** Policy configuration as CrossGuard takes it: per rule a level, or an object with a level and settings; "all" sets every rule's level. */
export type PolicyConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface Violation {
  rule: string;
  domain: string;
  /** logical name of the resource, or "(stack)" */
  resource: string;
  type?: string;
  urn?: string;
  level: "mandatory" | "advisory";
  message: string;
  remediation: string;
}

export function effectiveLevel(rule: Rule, config: PolicyConfig = {}): EnforcementLevel {
  const c = config[rule.name];
  const fromRule = typeof c === "string" ? c : c?.enforcementLevel;
  const all = config.all;
  const fromAll = typeof all === "string" ? all : all?.enforcementLevel;
  return fromRule ?? fromAll ?? rule.enforcementLevel;
}

function settingsFor(rule: Rule, config: PolicyConfig): Record<string, unknown> {
  const c = config[rule.name];
  if (!c || typeof c === "string") return {};
  const { enforcementLevel: _ignored, ...rest } = c;
  return rest;
}

/** "a.b[0].c" (how the recorder writes secret paths) -> "a.b.0.c" (how the rules walk properties) */
function normalizePath(p: string): string {
  return p.replace(/\[(\d+)\]/g, ".$1");
}

export function toView(r: RecordedResource): StackResourceView {
  const v: StackResourceView = { type: r.type, name: r.name, urn: r.urn, props: r.inputs ?? {} };
  if (r.parent) v.parent = r.parent;
  if (r.secretPaths) v.secretPaths = r.secretPaths.map(normalizePath);
  return v;
}

/** Run every enabled rule over the recorded resources; one Violation per message. */
export function checkResources(resources: RecordedResource[], config: PolicyConfig = {}, rules: Rule[] = allRules): Violation[] {
  const views = resources.map(toView);
  const byUrn = new Map(views.map((v) => [v.urn, v]));
  const out: Violation[] = [];
  for (const rule of rules) {
    let level = effectiveLevel(rule, config);
    if (level === "disabled") continue;
    if (level === "remediate") level = "mandatory"; // as CrossGuard does when a rule cannot remediate
    const base = { rule: rule.name, domain: rule.domain, level: level as Violation["level"], remediation: rule.remediation };
    const settings = settingsFor(rule, config);
    if (rule.kind === "resource") {
      for (const v of views) {
        if (!rule.types.includes(v.type)) continue;
        for (const message of rule.check(v, settings)) out.push({ ...base, resource: v.name, type: v.type, urn: v.urn, message });
      }
    } else {
      for (const sv of rule.checkStack(views, settings)) {
        const r = sv.urn ? byUrn.get(sv.urn) : undefined;
        out.push({ ...base, resource: r?.name ?? "(stack)", type: r?.type, urn: sv.urn, message: sv.message });
      }
    }
  }
  const rank = (v: Violation) => (v.level === "mandatory" ? 0 : 1);
  return out.sort(
    (a, b) =>
      rank(a) - rank(b) || a.rule.localeCompare(b.rule) || a.resource.localeCompare(b.resource) || a.message.localeCompare(b.message),
  );
}

export function hasMandatory(vs: Violation[]): boolean {
  return vs.some((v) => v.level === "mandatory");
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/\s+/).filter(Boolean)) {
      let w = word;
      while (w.length > width) {
        if (line) {
          lines.push(line);
          line = "";
        }
        lines.push(w.slice(0, width));
        w = w.slice(width);
      }
      if (!line) line = w;
      else if (line.length + 1 + w.length <= width) line += ` ${w}`;
      else {
        lines.push(line);
        line = w;
      }
    }
    lines.push(line);
  }
  return lines.length ? lines : [""];
}

/** Violations as a plain-text table: rule, resource, level, message, remediation. */
export function formatTable(vs: Violation[], widths = { rule: 30, resource: 30, level: 9, message: 60, remediation: 60 }): string {
  const cols = ["rule", "resource", "level", "message", "remediation"] as const;
  const sep = "+" + cols.map((c) => "-".repeat(widths[c] + 2)).join("+") + "+";
  const row = (cells: Record<(typeof cols)[number], string>) => {
    const wrapped = cols.map((c) => wrap(cells[c], widths[c]));
    const h = Math.max(...wrapped.map((w) => w.length));
    const lines: string[] = [];
    for (let i = 0; i < h; i++) lines.push("| " + cols.map((c, j) => (wrapped[j]![i] ?? "").padEnd(widths[c])).join(" | ") + " |");
    return lines.join("\n");
  };
  const out = [sep, row({ rule: "RULE", resource: "RESOURCE", level: "LEVEL", message: "MESSAGE", remediation: "REMEDIATION" }), sep];
  for (const v of vs) {
    const res = v.type ? `${v.resource} (${v.type})` : v.resource;
    out.push(row({ rule: v.rule, resource: res, level: v.level, message: v.message, remediation: v.remediation }), sep);
  }
  return out.join("\n");
}

export function summary(vs: Violation[], resourceCount: number): string {
  const m = vs.filter((v) => v.level === "mandatory").length;
  const a = vs.length - m;
  return `${resourceCount} resources checked against ${allRules.length} rules: ${m} mandatory, ${a} advisory violation(s)`;
}

export type SynthStack = (dir: string, opts?: SynthOptions) => Promise<RecordedResource[]>;

export interface PolicyCheckResult {
  resources: RecordedResource[];
  violations: Violation[];
  /** 0: no mandatory violation; 1: at least one */
  exitCode: number;
}

/** Synthesize the stack in `stackDir` under mocks (stacks/synth) and check it. */
export async function runPolicyCheck(
  stackDir: string,
  opts: { config?: PolicyConfig; synth?: SynthStack; stack?: string } = {},
): Promise<PolicyCheckResult> {
  const synth = opts.synth ?? synthStack;
  const resources = await synth(resolve(stackDir), opts.stack ? { stack: opts.stack } : {});
  const violations = checkResources(resources, opts.config ?? {});
  return { resources, violations, exitCode: hasMandatory(violations) ? 1 : 0 };
}
