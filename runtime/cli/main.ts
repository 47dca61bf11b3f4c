#!/usr/bin/env node
// The `framefleet` command.
import fs from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import pg from "pg";
import { startRegion, readRegionInfo } from "./region.js";
import { createApiKey, ROLES } from "./apikeys.js";
import { ApiClient } from "./client.js";
import { watchJob, TERMINAL } from "./watch.js";
import { runDemo } from "./demo.js";
import type { Role } from "../manager/store/index.js";
import { DatabaseUnavailableError, redactUrl } from "../manager/store/index.js";

const program = new Command();
program.name("framefleet").description("Run and use a framefleet transcoding region").version("0.1.0");

const dataDirOption = new Option("--data-dir <dir>", "where the embedded region keeps its state").default(
  process.env.FRAMEFLEET_DATA_DIR ?? ".framefleet",
);

function log(msg: string, fields?: Record<string, unknown>): void {
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), c: "manager", msg, ...fields }) + "\n");
}

function port(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number 0-65535, got ${v}`);
    return n;
  };
}

program
  .command("start")
  .description("run a whole region on this machine (embedded PostgreSQL unless DATABASE_URL is set)")
  .addOption(dataDirOption)
  .option("--region <name>", "region name", "local")
  .option("--host <addr>", "address to listen on", "127.0.0.1")
  .option("--http-port <port>", "REST API port", port("--http-port"), 8080)
  .option("--grpc-port <port>", "mutual-TLS gRPC port", port("--grpc-port"), 50051)
  .option("--join-port <port>", "TLS join port", port("--join-port"), 50052)
  .option("--max-coordinators <n>", "local coordinator processes at most", (v) => Number(v), 1)
  .option("--idle-timeout <seconds>", "retire an idle local coordinator after", (v) => Number(v) * 1000, 60_000)
  .action(async (o) => {
    const region = await startRegion({
      dataDir: o.dataDir,
      region: o.region,
      databaseUrl: process.env.DATABASE_URL,
      host: o.host,
      httpPort: o.httpPort,
      grpcPort: o.grpcPort,
      joinPort: o.joinPort,
      maxCoordinators: o.maxCoordinators,
      idleTimeoutMs: o.idleTimeout,
      log,
    });
    const info = readRegionInfo(region.dataDir)!;
    process.stdout.write(`framefleet region "${info.region}" is up
  REST API   ${info.http}   (OpenAPI: ${info.http}/openapi.json, docs: ${info.http}/docs)
  gRPC       ${info.grpc}   (mutual TLS)   join: ${info.join}
  database   ${redactUrl(info.databaseUrl)}
  store      ${region.storeRoot}
Create an API key:  framefleet apikey create --tenant demo --role admin
`);
    let stopping = false;
    // a terminal's Ctrl-C reaches both bin/framefleet.js (which passes it on) and this process: stop once
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      log("stopping");
      await region.stop();
      process.exit(0);
    };
    process.on("SIGINT", () => void stop());
    process.on("SIGTERM", () => void stop());
  });

program
  .command("manager")
  .description("run one manager replica against DATABASE_URL, with the region's CA from FRAMEFLEET_TLS_DIR (the manager container)")
  .requiredOption("--config <file>", "the region's manager.json", process.env.FRAMEFLEET_CONFIG)
  .addOption(new Option("--host <addr>", "address to listen on").env("FRAMEFLEET_HOST").default("0.0.0.0"))
  .addOption(new Option("--http-port <port>", "REST API port").env("FRAMEFLEET_HTTP_PORT").argParser(port("--http-port")).default(8080))
  .addOption(
    new Option("--grpc-port <port>", "mutual-TLS gRPC port").env("FRAMEFLEET_GRPC_PORT").argParser(port("--grpc-port")).default(50051),
  )
  .addOption(new Option("--join-port <port>", "TLS join port").env("FRAMEFLEET_JOIN_PORT").argParser(port("--join-port")).default(50052))
  .addOption(
    new Option("--metrics-port <port>", "Prometheus /metrics port")
      .env("FRAMEFLEET_METRICS_PORT")
      .argParser(port("--metrics-port"))
      .default(9090),
  )
  .action(async (o) => {
    const { runManagerCommand } = await import("./manager-command.js");
    const running = await runManagerCommand({
      config: o.config,
      host: o.host,
      httpPort: o.httpPort,
      grpcPort: o.grpcPort,
      joinPort: o.joinPort,
      metricsPort: o.metricsPort,
      env: process.env,
      log,
    });
    const { urls } = running.manager;
    log("manager is up", { http: urls.http, grpc: urls.grpc, join: urls.join, metrics: running.metricsUrl });
    let stopping: Promise<void> | undefined;
    // Kubernetes sends SIGTERM, then SIGKILL after the grace period: stop serving, let streams close, exit 0
    const stop = (signal: string) => {
      stopping ??= (async () => {
        log("stopping", { signal });
        try {
          await running.stop();
          process.exit(0);
        } catch (err) {
          log("stop failed", { error: String(err) });
          process.exit(1);
        }
      })();
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });

program
  .command("apikey")
  .description("manage API keys")
  .command("create")
  .description("create an API key bound to a tenant and role (shown once)")
  .addOption(dataDirOption)
  .requiredOption("--tenant <tenant>", "tenant the key acts for")
  .addOption(new Option("--role <role>", "what the key may do").choices(ROLES as string[]).default("submitter"))
  .option("--name <name>", "a label for the key", "")
  .option("--save", "also store it in <data-dir>/api-key for later CLI commands")
  .action(async (o) => {
    const url = process.env.DATABASE_URL ?? readRegionInfo(o.dataDir)?.databaseUrl;
    if (!url) throw new Error(`no DATABASE_URL and no running region in ${o.dataDir}: start one with \`framefleet start\``);
    const db = new pg.Client({ connectionString: url });
    try {
      await db.connect();
    } catch (err) {
      throw new DatabaseUnavailableError(url, err);
    }
    try {
      const k = await createApiKey(db, { tenant: o.tenant, role: o.role as Role, name: o.name });
      if (o.save) fs.writeFileSync(path.join(o.dataDir, "api-key"), k.key + "\n", { mode: 0o600 });
      process.stdout.write(k.key + "\n");
    } finally {
      await db.end();
    }
  });

function client(o: { dataDir: string; url?: string; key?: string }): ApiClient {
  const url = o.url ?? process.env.FRAMEFLEET_URL ?? readRegionInfo(o.dataDir)?.http;
  if (!url) throw new Error("no manager URL: pass --url, set FRAMEFLEET_URL, or run `framefleet start`");
  let key = o.key ?? process.env.FRAMEFLEET_API_KEY;
  if (!key) {
    try {
      key = fs.readFileSync(path.join(o.dataDir, "api-key"), "utf8").trim();
    } catch {
      throw new Error("no API key: pass --key, set FRAMEFLEET_API_KEY, or `framefleet apikey create --tenant T --role submitter --save`");
    }
  }
  return new ApiClient(url, key);
}

const withClient = (c: Command) => c.addOption(dataDirOption).option("--url <url>", "manager REST URL").option("--key <key>", "API key");

withClient(program.command("submit <file>").description("submit a composition (JSON file)"))
  .option("--watch", "show live progress until the job ends")
  .option("--priority <n>", "0-100", (v) => Number(v))
  .option("--idempotency-key <key>", "make retries of this submission safe")
  .action(async (file: string, o) => {
    const composition = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    const c = client(o);
    const job = await c.request<{ id: string; state: string }>(
      "POST",
      "/v1/jobs",
      { composition, ...(o.priority !== undefined ? { priority: o.priority } : {}) },
      o.idempotencyKey ? { "idempotency-key": o.idempotencyKey } : {},
    );
    process.stdout.write(`${job.id}\n`);
    if (o.watch) {
      const done = await watchJob(c, job.id);
      process.stdout.write(`${done.state}\n`);
      if (done.state !== "succeeded") process.exitCode = 1;
    }
  });

withClient(program.command("jobs").description("list jobs"))
  .option("--state <state>")
  .action(async (o) => {
    const q = o.state ? `?state=${encodeURIComponent(o.state)}` : "";
    const page = await client(o).request<{ jobs: { id: string; state: string; createdAt: string }[] }>("GET", `/v1/jobs${q}`);
    for (const j of page.jobs) process.stdout.write(`${j.id}  ${j.state.padEnd(10)} ${j.createdAt}\n`);
  });

withClient(program.command("job <id>").description("show a job")).action(async (id: string, o) => {
  process.stdout.write(JSON.stringify(await client(o).request("GET", `/v1/jobs/${id}`), null, 2) + "\n");
});

withClient(program.command("cancel <id>").description("cancel a job")).action(async (id: string, o) => {
  await client(o).request("POST", `/v1/jobs/${id}/cancel`);
  process.stdout.write("cancelled\n");
});

withClient(program.command("watch <id>").description("watch a job until it ends")).action(async (id: string, o) => {
  const done = await watchJob(client(o), id);
  process.stdout.write(`${done.state}\n`);
  if (!TERMINAL.has(done.state) || done.state !== "succeeded") process.exitCode = 1;
});

const engine = program.command("engine").description("the region's engine registry: what compositions may pin");
withClient(engine.command("list").description("list registered engines"))
  .option("--name <name>", "only engines with this name")
  .action(async (o) => {
    const q = o.name ? `?name=${encodeURIComponent(o.name)}` : "";
    const r = await client(o).request<{ engines: { name: string; version: string; image: string | null; hardware: string }[] }>(
      "GET",
      `/v1/engines${q}`,
    );
    for (const e of r.engines)
      process.stdout.write(`${e.name.padEnd(10)} ${e.version.padEnd(10)} ${e.hardware.padEnd(4)} ${e.image ?? "(host binaries)"}\n`);
  });
withClient(engine.command("register <name> <version>").description("register an engine (operator role)"))
  .option("--image <ref>", "the engine image, pinned by digest: repo@sha256:<64 hex>")
  .option("--host-binaries", "register the hosts' own binaries (process runner) instead of an image")
  .option("--hardware <cpu|gpu|any>", "hardware the engine serves", "cpu")
  .option("--encoders <list>", "comma-separated encoders it provides", "")
  .option("--hwaccels <list>", "comma-separated hwaccels it provides", "")
  .action(async (name: string, version: string, o) => {
    // an engine without an image must be asked for, so a forgotten --image is not registered as host binaries
    if (!o.image === !o.hostBinaries) throw new Error("pass exactly one of --image <repo@sha256:...> or --host-binaries");
    const list = (v: string) =>
      v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
    const e = await client(o).request<{ name: string; version: string; image: string | null }>("POST", "/v1/engines", {
      name,
      version,
      image: o.hostBinaries ? null : o.image,
      hardware: o.hardware,
      encoders: list(o.encoders),
      hwaccels: list(o.hwaccels),
    });
    process.stdout.write(`registered ${e.name} ${e.version} ${e.image ?? "(host binaries)"}\n`);
  });

program
  .command("demo")
  .description("start an embedded region, encode a test source to an HLS + DASH ladder, print where the output is")
  .addOption(
    new Option("--data-dir <dir>", "state directory for the demo region").default(
      path.join(process.env.FRAMEFLEET_DATA_DIR ?? ".framefleet", "demo"),
    ),
  )
  .option("--input <file>", "encode this file instead of a generated test source")
  .option("--seconds <n>", "length of the generated test source", (v) => Number(v), 20)
  .option("--composition <file>", "composition to run (default: examples/compositions/hls-dash-ladder.json)")
  .option("--json", "print one final JSON object")
  .option("--verbose", "log the region's activity")
  .addOption(
    new Option("--runner <runner>", "run the engine with the host's ffmpeg, or inside the engine image (npm run images:build)")
      .choices(["process", "container"])
      .default("process"),
  )
  .action(async (o) => {
    if (!Number.isFinite(o.seconds) || o.seconds < 1 || o.seconds > 3600) throw new Error("--seconds must be between 1 and 3600");
    const r = await runDemo({
      dataDir: o.dataDir,
      input: o.input,
      seconds: o.seconds,
      composition: o.composition,
      json: !!o.json,
      runner: o.runner === "container" ? "container" : "process",
      log: o.verbose ? log : undefined,
    });
    const out = o.json ? JSON.stringify(r, null, 2) + "\n" : r.outputs.masterPlaylist ? r.outputs.masterPlaylist + "\n" : "";
    // exit explicitly, after stdout drains: the embedded PostgreSQL package's exit
    // hook would otherwise end the process with code 0 whatever the job's outcome
    process.stdout.write(out, () => process.exit(r.state === "succeeded" ? 0 : 1));
  });

program
  .command("policy")
  .description("security policy pack")
  .command("check <stackDir>")
  .description("run the policy pack over a stack program under Pulumi's mocks (no Pulumi CLI needed)")
  .option("--config <file>", "policy config (CrossGuard's format)")
  .option("--stack <name>", "stack config to use")
  .option("--json", "print violations as JSON")
  .action(async (dir: string, o) => {
    const { main } = await import("../../policies/cli.js");
    const args = ["check", dir];
    if (o.config) args.push("--config", o.config);
    if (o.stack) args.push("--stack", o.stack);
    if (o.json) args.push("--json");
    process.exitCode = await main(args);
  });

program
  .command("coordinator")
  .description("run a coordinator on this host (configured from FRAMEFLEET_* environment variables)")
  .addOption(
    new Option(
      "--runner <runner>",
      "how workers run the engine: the host's ffmpeg, or each task's engine image (FRAMEFLEET_RUNNER)",
    ).choices(["process", "container"]),
  )
  .action(async (o: { runner?: string }) => {
    if (o.runner) process.env.FRAMEFLEET_RUNNER = o.runner;
    await import("../coordinator/main.js");
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`framefleet: ${err.message}\n`);
  process.exit(1);
});
