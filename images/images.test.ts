// Every images/*/Dockerfile: linted, pinned, non-root, secret-free, and
// actually built here (--pull=never, over the Debian base made by debootstrap)
// and run: non-root, the engine's labels true of the ffmpeg inside, the
// manager answering --help on a read-only root filesystem.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { finalUser, isRootUser, lint, parseDockerfile, secretProblems, SECRET_FILE, SECRET_NAME, unpinnedFroms } from "./dockerfile.js";
import {
  buildImage,
  containerCli,
  ensureBases,
  HASH_LABEL,
  imageSpecs,
  inspectImage,
  REPO_ROOT,
  run,
  type BuiltImage,
} from "../scripts/images/lib.js";
import { ensureEngineImage, withImageLock } from "../test/support/images.js";

const specs = imageSpecs();
const NODE_BASE_FILE = path.join(REPO_ROOT, "scripts", "images", "node-base.Containerfile");
const read = (f: string) => fs.readFileSync(f, "utf8");

describe("Dockerfiles", () => {
  it("are the four images", () => {
    expect(specs.map((s) => s.name)).toEqual(["coordinator", "engine-ffmpeg", "engine-ffmpeg-nvenc", "manager"]);
  });

  for (const file of [...specs.map((s) => s.dockerfile), NODE_BASE_FILE]) {
    const rel = path.relative(REPO_ROOT, file);
    it(`${rel}: the linter (dockerfile-utils, every rule at error level) finds nothing`, () => {
      expect(lint(read(file))).toEqual([]);
    });
  }

  for (const spec of specs) {
    const rel = path.relative(REPO_ROOT, spec.dockerfile);
    it(`${rel}: every FROM is pinned by digest`, () => {
      expect(unpinnedFroms(read(spec.dockerfile))).toEqual([]);
    });
    it(`${rel}: the final user is not root`, () => {
      const user = finalUser(read(spec.dockerfile));
      expect(user).toBeDefined();
      expect(isRootUser(user)).toBe(false);
    });
    it(`${rel}: no secret-named ARG or ENV, no key material copied`, () => {
      expect(secretProblems(read(spec.dockerfile))).toEqual([]);
    });
    it(`${rel}: has OCI labels and a HEALTHCHECK`, () => {
      const ins = parseDockerfile(read(spec.dockerfile));
      const labels = ins
        .filter((i) => i.keyword === "LABEL")
        .map((i) => i.args)
        .join(" ");
      for (const l of ["title", "version", "source", "revision", "description"]) expect(labels).toContain(`org.opencontainers.image.${l}=`);
      expect(ins.filter((i) => i.keyword === "HEALTHCHECK")).toHaveLength(1);
    });
  }

  it("the engine images carry the labels the runtime reads", () => {
    for (const [name, hardware] of [
      ["engine-ffmpeg", "cpu"],
      ["engine-ffmpeg-nvenc", "gpu"],
    ] as const) {
      const labels = parseDockerfile(read(path.join(REPO_ROOT, "images", name, "Dockerfile")))
        .filter((i) => i.keyword === "LABEL")
        .map((i) => i.args)
        .join(" ");
      for (const l of ["name", "version", "encoders", "hwaccels"]) expect(labels, name).toContain(`io.framefleet.engine.${l}=`);
      expect(labels, name).toContain(`io.framefleet.engine.hardware="${hardware}"`);
    }
  });

  // the checks above must be able to fail: each is shown a Dockerfile it has to reject
  it("the checks reject what they are meant to", () => {
    expect(lint("from debian@sha256:" + "a".repeat(64) + "\nWORKDIR work\nCMD [ 'a' ]\n").length).toBeGreaterThanOrEqual(3);
    expect(unpinnedFroms("FROM debian:bookworm-slim\n")).toHaveLength(1);
    expect(unpinnedFroms("ARG B=debian:bookworm\nFROM ${B}\n")[0]).toMatch(/not pinned by digest/);
    expect(unpinnedFroms(`ARG B=debian@sha256:${"b".repeat(64)}\nFROM \${B} AS x\nFROM x\n`)).toEqual([]);
    expect(isRootUser(finalUser("FROM a\nUSER 10001\nFROM b\n"))).toBe(true);
    expect(isRootUser(finalUser("FROM a\nUSER 0:0\n"))).toBe(true);
    expect(isRootUser(finalUser("FROM a\nUSER app\n"))).toBe(false);
    expect(secretProblems("FROM a\nARG NPM_TOKEN\nENV DB_PASSWORD=x \\\n  OTHER=1\nCOPY tls.key /k\n")).toHaveLength(3);
    expect(secretProblems("FROM a\nENV NVIDIA_DRIVER_CAPABILITIES=video\nARG BASE_IMAGE=x\n")).toEqual([]);
  });
});

// ---- built images ----------------------------------------------------------

let cli: string;
const built: Record<string, BuiltImage> = {};

async function inContainer(image: string, argv: string[], flags: string[] = []): Promise<string> {
  // --no-healthcheck: a one-shot command needs no health timer (podman would ask systemd for one)
  return run([cli, "run", "--rm", "--network=none", "--no-healthcheck", ...flags, image, ...argv]);
}

describe("built images", () => {
  beforeAll(async () => {
    cli = containerCli(); // fails with the install line when neither podman nor docker is installed
    built["engine-ffmpeg"] = await ensureEngineImage();
    await withImageLock(async () => {
      const bases = await ensureBases(cli);
      for (const spec of specs) if (!built[spec.name]) built[spec.name] = await buildImage(cli, spec, bases);
    });
  }, 1_800_000);

  it("each image is built over the locally made Debian base and pinned by a digest that runs", async () => {
    const base = (await inspectImage(cli, "localhost/framefleet/base:bookworm"))!;
    expect(base).toBeDefined();
    const baseLayers = JSON.parse(
      await run([cli, "image", "inspect", "--format", "{{json .RootFS.Layers}}", "localhost/framefleet/base:bookworm"]),
    ) as string[];
    for (const spec of specs) {
      const img = built[spec.name]!;
      expect(img.pinned, spec.name).toMatch(/^localhost\/framefleet\/[a-z-]+@sha256:[0-9a-f]{64}$/);
      expect(img.labels[HASH_LABEL], spec.name).toMatch(/^[0-9a-f]{64}$/);
      const layers = JSON.parse(await run([cli, "image", "inspect", "--format", "{{json .RootFS.Layers}}", img.pinned])) as string[];
      // the debootstrap rootfs is the image's first layer: no registry base was used
      expect(layers[0], spec.name).toBe(baseLayers[0]);
    }
  });

  it("each image runs as a non-root user", async () => {
    for (const spec of specs) {
      const img = built[spec.name]!.pinned;
      const uid = (await inContainer(img, ["-u"], ["--entrypoint", "id"])).trim();
      expect(uid, spec.name).toMatch(/^\d+$/);
      expect(uid, spec.name).not.toBe("0");
    }
  });

  it("the engine images' labels are true of the ffmpeg inside them", async () => {
    for (const name of ["engine-ffmpeg", "engine-ffmpeg-nvenc"]) {
      const img = built[name]!;
      const l = img.labels;
      expect(l["io.framefleet.engine.name"]).toBe("ffmpeg");
      const version = (await inContainer(img.pinned, ["ffmpeg", "-hide_banner", "-version"])).split("\n")[0]!;
      expect(version, name).toMatch(new RegExp(`^ffmpeg version ${l["io.framefleet.engine.version"]!.replace(/\./g, "\\.")}\\b`));
      expect(img.ref).toBe(`localhost/framefleet/${name}:${l["io.framefleet.engine.version"]}`);
      const encoders = (await inContainer(img.pinned, ["ffmpeg", "-hide_banner", "-encoders"]))
        .split("\n")
        .map((s) => s.trim().split(/\s+/)[1]);
      const wanted = l["io.framefleet.engine.encoders"]!.split(",");
      expect(wanted.length, name).toBeGreaterThan(3);
      for (const e of wanted) expect(encoders, `${name}: ${e}`).toContain(e);
      const hwaccels = (await inContainer(img.pinned, ["ffmpeg", "-hide_banner", "-hwaccels"]))
        .split("\n")
        .slice(1)
        .map((s) => s.trim());
      for (const h of l["io.framefleet.engine.hwaccels"]!.split(",").filter(Boolean)) expect(hwaccels, `${name}: ${h}`).toContain(h);
      expect(await inContainer(img.pinned, ["ffprobe", "-hide_banner", "-version"])).toMatch(/^ffprobe version /);
    }
    expect(built["engine-ffmpeg"]!.labels["io.framefleet.engine.hardware"]).toBe("cpu");
    const gpu = built["engine-ffmpeg-nvenc"]!.labels;
    expect(gpu["io.framefleet.engine.hardware"]).toBe("gpu");
    expect(gpu["io.framefleet.engine.encoders"]!.split(",")).toEqual(expect.arrayContaining(["h264_nvenc", "hevc_nvenc"]));
    expect(gpu["io.framefleet.engine.hwaccels"]).toBe("cuda");
  });

  it("the engine encodes inside its container with no network, a read-only root and no capabilities", async () => {
    const out = await inContainer(
      built["engine-ffmpeg"]!.pinned,
      ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=160x90:d=1", "-c:v", "libx264", "-f", "null", "-"],
      ["--read-only", "--cap-drop=all", "--security-opt=no-new-privileges"],
    );
    expect(out).toBe("");
  });

  it("the manager and coordinator images answer --help on a read-only root filesystem", async () => {
    for (const name of ["manager", "coordinator"]) {
      const out = await inContainer(built[name]!.pinned, ["--help"], ["--read-only", "--cap-drop=all", "--security-opt=no-new-privileges"]);
      expect(out, name).toMatch(/Usage: framefleet/);
      expect(out, name).toMatch(/\bstart\b/);
      expect(out, name).toMatch(/\bcoordinator\b/);
    }
    // the coordinator starts engine containers through the host's engine: its CLI is in the image
    expect(await inContainer(built["coordinator"]!.pinned, ["--version"], ["--entrypoint", "docker"])).toMatch(/^Docker version/);
  });

  it("each image keeps its HEALTHCHECK, and the engine's passes", async () => {
    for (const spec of specs) {
      const j = (
        JSON.parse(await run([cli, "image", "inspect", built[spec.name]!.pinned])) as Array<{
          Healthcheck?: { Test?: string[] };
          Config?: { Healthcheck?: { Test?: string[] } };
        }>
      )[0]!;
      const test = j.Healthcheck?.Test ?? j.Config?.Healthcheck?.Test;
      expect(test?.[0], spec.name).toBe("CMD");
      if (spec.name.startsWith("engine-"))
        expect(await inContainer(built[spec.name]!.pinned, test!.slice(1), ["--read-only"]), spec.name).toBe("");
    }
  });

  it("ensureEngineImage: a built image is found without waiting for the lock; builders take turns; a dead holder's lock is taken over", async () => {
    const lock = path.join(os.tmpdir(), "framefleet-images.lock");
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-ensure-")), "ensure.mts");
    fs.writeFileSync(
      script,
      `import { ensureEngineImage } from ${JSON.stringify(path.join(REPO_ROOT, "test/support/images.ts"))};\nprocess.stdout.write((await ensureEngineImage()).pinned);\n`,
    );
    const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
    const ask = () => run([tsx, script], { cwd: REPO_ROOT }).catch((err: Error) => `failed: ${err.message}`);
    // two other processes ask while this one holds the build lock: the image exists, so both answer at once
    const both = await withImageLock(async () => {
      const answers = await Promise.all([ask(), ask()]);
      expect(fs.readFileSync(lock, "utf8").trim()).toBe(String(process.pid));
      return answers;
    });
    expect(both).toEqual([built["engine-ffmpeg"]!.pinned, built["engine-ffmpeg"]!.pinned]);
    fs.rmSync(path.dirname(script), { recursive: true, force: true });

    // two builders at once run one after the other
    const events: string[] = [];
    const builder = (name: string) =>
      withImageLock(async () => {
        events.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 700));
        events.push(`${name} out`);
      });
    await Promise.all([builder("a"), builder("b")]);
    expect([events.slice(0, 2), events.slice(2)].map((e) => e[0]!.split(" ")[0] === e[1]!.split(" ")[0])).toEqual([true, true]);

    // a lock left by a process that no longer exists does not block the next build
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    fs.writeFileSync(lock, `${dead}\n`);
    expect(await withImageLock(async () => fs.readFileSync(lock, "utf8").trim())).toBe(String(process.pid));
    expect(fs.existsSync(lock)).toBe(false);
  });

  it("no secrets in any image's history or configuration", async () => {
    for (const spec of specs) {
      const img = built[spec.name]!.pinned;
      const history = (await run([cli, "history", "--no-trunc", "--format", "{{.CreatedBy}}", img])).split("\n").filter(Boolean);
      expect(history.length, spec.name).toBeGreaterThan(0);
      for (const step of history) {
        for (const m of step.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g))
          expect(SECRET_NAME.test(m[1]!), `${spec.name}: ${step}`).toBe(false);
        if (/^\s*(\/bin\/sh -c #\(nop\) )?(COPY|ADD)\b/.test(step)) expect(SECRET_FILE.test(step), `${spec.name}: ${step}`).toBe(false);
      }
      const cfg = JSON.parse(await run([cli, "image", "inspect", "--format", "{{json .Config}}", img])) as {
        Env?: string[];
        Labels?: Record<string, string>;
      };
      for (const e of cfg.Env ?? []) expect(SECRET_NAME.test(e.split("=")[0]!), `${spec.name}: ENV ${e}`).toBe(false);
      for (const [k, v] of Object.entries(cfg.Labels ?? {}))
        expect(/BEGIN [A-Z ]*PRIVATE KEY/.test(v), `${spec.name}: LABEL ${k}`).toBe(false);
    }
  });
});
