// `npm run synth -- <dir> [--stack <name>] [--json]`: run a stack program under
// Pulumi's mocks (no cloud access) and print its resource inventory (type,
// name, key inputs), or every RecordedResource as JSON with --json.
import { inventoryTable, synthStack } from "./index.js";

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const si = argv.indexOf("--stack");
  const stack = si >= 0 ? argv[si + 1] : undefined;
  const dirs = argv.filter((a, i) => !a.startsWith("--") && !(si >= 0 && i === si + 1));
  if (dirs.length === 0) {
    process.stderr.write("usage: npm run synth -- <stack dir> [--stack <name>] [--json]\n");
    return 2;
  }
  const all = [];
  for (const dir of dirs) {
    try {
      const records = await synthStack(dir, { stack });
      if (json) all.push(...records);
      else process.stdout.write(`# ${dir}\n${inventoryTable(records)}\n\n`);
    } catch (err) {
      process.stderr.write(`synth ${dir}: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  }
  if (json) process.stdout.write(JSON.stringify(all, null, 2) + "\n");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code; // no process.exit(): it could cut off a large --json output on a pipe
  },
  (err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
