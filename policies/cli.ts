// `framefleet policy check <stack-dir>`: synthesize a stack program under
// Pulumi's mocks and run the policy pack over it, offline.
//   npx tsx policies/cli.ts check examples/stacks/aws-region [--config policy-config.json] [--json]
// Exit codes: 0 no mandatory violation, 1 mandatory violation(s), 2 usage or synthesis error.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { formatTable, runPolicyCheck, summary, type PolicyConfig, type SynthStack } from "./check.js";
import { allRules } from "./rules/index.js";

const USAGE = `usage: policy check <stack-dir> [--stack <name>] [--config <policy-config.json>] [--json]
       policy rules            list the rules and their default enforcement levels`;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  synth?: SynthStack;
}

export async function main(argv: string[], io: CliIo = { out: (s) => console.log(s), err: (s) => console.error(s) }): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "rules") {
    for (const r of allRules)
      io.out(`${r.name.padEnd(34)} ${r.kind.padEnd(8)} ${r.enforcementLevel.padEnd(9)} ${r.domain.padEnd(10)} ${r.clouds.join(",")}`);
    return 0;
  }
  if (cmd !== "check") {
    io.err(USAGE);
    return 2;
  }
  let dir: string | undefined;
  let configPath: string | undefined;
  let json = false;
  let stack: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--config") configPath = rest[++i];
    else if (a.startsWith("--config=")) configPath = a.slice("--config=".length);
    else if (a === "--json") json = true;
    else if (a === "--stack") stack = rest[++i];
    else if (a.startsWith("-")) {
      io.err(`unknown option ${a}\n${USAGE}`);
      return 2;
    } else if (!dir) dir = a;
    else {
      io.err(`unexpected argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (!dir) {
    io.err(USAGE);
    return 2;
  }
  let config: PolicyConfig = {};
  if (configPath) {
    try {
      config = JSON.parse(readFileSync(configPath, "utf8")) as PolicyConfig;
    } catch (e) {
      io.err(`cannot read policy config ${configPath}: ${(e as Error).message}`);
      return 2;
    }
  }
  try {
    const res = await runPolicyCheck(dir, { config, ...(stack ? { stack } : {}), ...(io.synth ? { synth: io.synth } : {}) });
    if (json) io.out(JSON.stringify({ violations: res.violations, resources: res.resources.length, exitCode: res.exitCode }, null, 2));
    else {
      if (res.violations.length) io.out(formatTable(res.violations));
      io.out(summary(res.violations, res.resources.length));
    }
    return res.exitCode;
  } catch (e) {
    const detail = e instanceof Error ? (process.env.FRAMEFLEET_DEBUG ? (e.stack ?? e.message) : e.message) : String(e);
    io.err(`policy check of ${dir} failed: ${detail}`);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // A stack program can fail inside an Output's apply, outside synthStack's promise: still a synthesis error (exit 2).
  const crash = (e: unknown) => {
    console.error(
      `policy check failed: the stack program threw while it was synthesized: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
    process.exit(2);
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  main(process.argv.slice(2)).then(
    // let stdout drain before exiting (the mocks may leave handles open)
    (code) => process.stdout.write("", () => process.exit(code)),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
