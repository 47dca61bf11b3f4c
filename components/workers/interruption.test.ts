// Host-side scripts from the bootstrap, run for real with bash and jq against
// fake `curl`/`aws` commands that play each cloud's metadata and secret
// services (no cloud here). They check the contracts with the coordinator:
// the interruption notice (parsed by runtime/coordinator's own parseNotice)
// and /run/framefleet/host.env (capacity type, instance type, join token).
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, readdirSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderInterruptionWatcher, renderJoinScript, type JoinTokenSource } from "./bootstrap.js";
import { parseNotice } from "../../runtime/coordinator/interruption.js";
import type { Cloud } from "../common.js";

// the host scripts need these (scripts/setup.sh installs jq); missing tools fail the tests, never skip them
const missingTools = ["bash", "jq", "base64", "sed"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);

// A fake command: prints the body for the first argument matching a pattern, else fails like `curl -f` on a 404.
function fake(dir: string, cmd: string, cases: Array<[string, string]>): void {
  const lines = cases.map(([pattern, body]) => `  *'${pattern}'*) printf '%s' '${body}'; exit 0 ;;`).join("\n");
  writeFileSync(join(dir, cmd), `#!/bin/bash\nall="$*"\ncase "$all" in\n${lines}\n  *) exit 22 ;;\nesac\n`);
  chmodSync(join(dir, cmd), 0o755);
}

function runScript(dir: string, script: string, extraEnv: Record<string, string> = {}): void {
  const file = join(dir, "script.sh");
  writeFileSync(file, script);
  execFileSync("bash", [file], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FRAMEFLEET_RUN_DIR: dir, ...extraEnv },
    timeout: 20_000,
  });
}

function watch(cloud: Cloud, cases: Array<[string, string]>): string {
  const dir = mkdtempSync(join(tmpdir(), `ff-watch-${cloud}-`));
  fake(dir, "curl", cases);
  runScript(dir, renderInterruptionWatcher(cloud));
  expect(readdirSync(dir).filter((f) => f.startsWith(".interruption"))).toEqual([]); // renamed into place, no leftovers
  return readFileSync(join(dir, "interruption"), "utf8");
}

describe("interruption watcher -> coordinator's parseNotice", () => {
  it("has the tools the host scripts use", () => {
    expect(missingTools, `install: apt-get install -y ${missingTools.join(" ")}`).toEqual([]);
  });

  it("AWS: IMDSv2 token, then spot/instance-action", () => {
    const raw = watch("aws", [
      ["latest/api/token", "TOKEN"],
      ["spot/instance-action", '{"action":"terminate","time":"2026-11-26T15:00:00Z"}'],
    ]);
    expect(parseNotice(raw)).toMatchObject({ cloud: "aws", action: "terminate", time: "2026-11-26T15:00:00Z" });
    expect(JSON.parse(raw).detectedAt).toMatch(/^\d{4}-/);
  });
  it("GCP: instance/preempted turns TRUE", () => {
    expect(parseNotice(watch("gcp", [["instance/preempted", "TRUE"]]))).toMatchObject({ cloud: "gcp", action: "preempted" });
  });
  it("Azure: a Preempt scheduled event", () => {
    const ev = JSON.stringify({
      DocumentIncarnation: 1,
      Events: [{ EventId: "e1", EventType: "Preempt", NotBefore: "Thu, 26 Nov 2026 15:00:00 GMT" }],
    });
    expect(parseNotice(watch("azure", [["scheduledevents", ev]]))).toMatchObject({
      cloud: "azure",
      action: "Preempt",
      time: "Thu, 26 Nov 2026 15:00:00 GMT",
    });
  });
});

function join_(cloud: Cloud, src: JoinTokenSource, fakes: Record<string, Array<[string, string]>>, enrolled = false): string {
  const dir = mkdtempSync(join(tmpdir(), `ff-join-${cloud}-`));
  for (const [cmd, cases] of Object.entries(fakes)) fake(dir, cmd, cases);
  const state = join(dir, "state");
  mkdirSync(state);
  if (enrolled) writeFileSync(join(state, "coordinator.crt"), "CERT");
  runScript(dir, renderJoinScript(src, cloud), { FRAMEFLEET_STATE_DIR: state });
  return readFileSync(join(dir, "host.env"), "utf8");
}

describe("join script -> host.env", () => {
  it("AWS: spot lifecycle, instance type and the token from Secrets Manager", () => {
    const env = join_(
      "aws",
      { kind: "aws-secretsmanager", secretId: "arn:join", region: "eu-west-1" },
      {
        curl: [
          ["api/token", "T"],
          ["instance-life-cycle", "spot"],
          ["instance-type", "c7i.4xlarge"],
        ],
        aws: [["get-secret-value", "ff_join_abc"]],
      },
    );
    expect(env).toBe("FRAMEFLEET_CAPACITY_TYPE=spot\nFRAMEFLEET_INSTANCE_TYPE=c7i.4xlarge\nFRAMEFLEET_JOIN_TOKEN=ff_join_abc\n");
  });
  it("GCP: standard VM, machine type basename and the token from Secret Manager", () => {
    const env = join_(
      "gcp",
      { kind: "gcp-secretmanager", secret: "projects/p/secrets/s" },
      {
        curl: [
          ["service-accounts/default/token", '{"access_token":"at"}'],
          ["secretmanager.googleapis.com", `{"payload":{"data":"${Buffer.from("ff_join_gcp").toString("base64")}"}}`],
          ["scheduling/preemptible", "FALSE"],
          ["machine-type", "projects/1/machineTypes/g2-standard-8"],
        ],
      },
    );
    expect(env).toBe("FRAMEFLEET_CAPACITY_TYPE=on-demand\nFRAMEFLEET_INSTANCE_TYPE=g2-standard-8\nFRAMEFLEET_JOIN_TOKEN=ff_join_gcp\n");
  });
  it("Azure: Spot priority, VM size and the token from Key Vault; no token once enrolled", () => {
    const fakes = {
      curl: [
        ["oauth2/token", '{"access_token":"at"}'],
        ["vault.azure.net", '{"value":"ff_join_az"}'],
        ["instance/compute", '{"vmSize":"Standard_F16s_v2","priority":"Spot"}'],
      ] as Array<[string, string]>,
    };
    const src: JoinTokenSource = {
      kind: "azure-keyvault",
      secretUri: "https://kv.vault.azure.net/secrets/join-token",
      identityClientId: "cid",
    };
    expect(join_("azure", src, fakes)).toBe(
      "FRAMEFLEET_CAPACITY_TYPE=spot\nFRAMEFLEET_INSTANCE_TYPE=Standard_F16s_v2\nFRAMEFLEET_JOIN_TOKEN=ff_join_az\n",
    );
    expect(join_("azure", src, fakes, true)).not.toContain("JOIN_TOKEN");
  });
});
