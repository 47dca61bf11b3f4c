// Static checks over Dockerfiles, shared by images.test.ts: instructions as
// the builder sees them (continuations joined, comments dropped), whether every
// FROM is pinned by digest, the final user, and secret-looking names.
import { validate, ValidationSeverity, type ValidatorSettings } from "dockerfile-utils";

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions in order; `\` continuations joined, comment lines (also inside continuations) dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  let buf = "";
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, "");
    if (!buf && /^\s*(#|$)/.test(raw)) continue;
    if (buf && /^\s*#/.test(raw)) continue;
    if (!buf) start = i + 1;
    const cont = /\\\s*$/.test(raw);
    buf += (buf ? " " : "") + (cont ? raw.replace(/\\\s*$/, "") : raw).trim();
    if (cont) continue;
    const m = /^(\S+)\s*(.*)$/.exec(buf)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, line: start });
    buf = "";
  }
  if (buf) throw new Error(`line ${start}: the file ends inside a continued instruction`);
  return out;
}

// every rule dockerfile-utils has, at error level (its default leaves some at warning or ignored)
export const LINT_SETTINGS: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

/** dockerfile-utils' findings (errors and warnings alike), as "line N: message". */
export function lint(text: string): string[] {
  return validate(text, LINT_SETTINGS).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

const DIGEST = /@sha256:[0-9a-f]{64}$/;

/** Problems with the FROM lines: each must name a digest, directly, through an ARG default, or an earlier stage. */
export function unpinnedFroms(text: string): string[] {
  const ins = parseDockerfile(text);
  const globalArgs = new Map<string, string | undefined>();
  const stages = new Set<string>();
  const problems: string[] = [];
  let seenFrom = false;
  for (const i of ins) {
    if (i.keyword === "ARG" && !seenFrom) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(i.args.trim());
      if (m) globalArgs.set(m[1]!, m[2]?.replace(/^"(.*)"$/, "$1"));
    }
    if (i.keyword !== "FROM") continue;
    seenFrom = true;
    const words = i.args.split(/\s+/).filter((w) => !w.startsWith("--"));
    const image = words[0] ?? "";
    if (words[1]?.toUpperCase() === "AS" && words[2]) stages.add(words[2].toLowerCase());
    if (stages.has(image.toLowerCase())) continue;
    const ref = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(image);
    if (ref) {
      const def = globalArgs.get(ref[1]!);
      if (!globalArgs.has(ref[1]!)) problems.push(`line ${i.line}: FROM ${image}: no ARG ${ref[1]} before the first FROM`);
      else if (!def || !DIGEST.test(def))
        problems.push(`line ${i.line}: FROM ${image}: ARG ${ref[1]}'s default ${JSON.stringify(def ?? "")} is not pinned by digest`);
    } else if (!DIGEST.test(image)) problems.push(`line ${i.line}: FROM ${image} is not pinned by digest`);
  }
  if (!seenFrom) problems.push("no FROM instruction");
  return problems;
}

/** The USER in force at the end of the final stage, or undefined when none is set (root). */
export function finalUser(text: string): string | undefined {
  let user: string | undefined;
  for (const i of parseDockerfile(text)) {
    if (i.keyword === "FROM") user = undefined;
    if (i.keyword === "USER") user = i.args.trim();
  }
  return user;
}

export function isRootUser(user: string | undefined): boolean {
  if (!user) return true;
  const name = user.split(":")[0]!;
  return name === "root" || name === "0";
}

/** Names that say "secret": never to be set in an image's ARG or ENV. */
export const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|(^|_)KEY($|_)|APIKEY|PRIVATE|CREDENTIAL/i;
/** Files that hold keys or certificates' private halves. */
export const SECRET_FILE = /\.(pem|key|p12|pfx|jks)\b|id_rsa|id_ed25519|\.npmrc|\.netrc/i;

/** ARG/ENV named like a secret, and COPY/ADD of key material. */
export function secretProblems(text: string): string[] {
  const problems: string[] = [];
  for (const i of parseDockerfile(text)) {
    if (i.keyword === "ARG") {
      const name = i.args.trim().split("=")[0]!;
      if (SECRET_NAME.test(name))
        problems.push(`line ${i.line}: ARG ${name} looks like a secret (build args are kept in the image history)`);
    }
    if (i.keyword === "ENV") {
      // ENV a=b c=d, or the legacy ENV name value
      const names = i.args.includes("=")
        ? [...i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!)
        : [i.args.trim().split(/\s+/)[0]!];
      for (const n of names) if (SECRET_NAME.test(n)) problems.push(`line ${i.line}: ENV ${n} looks like a secret`);
    }
    if ((i.keyword === "COPY" || i.keyword === "ADD") && SECRET_FILE.test(i.args))
      problems.push(`line ${i.line}: ${i.keyword} ${i.args} copies key material into a layer`);
  }
  return problems;
}
