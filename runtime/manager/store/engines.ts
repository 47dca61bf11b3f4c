// The region's engine registry. A composition or factory names an engine by
// name and version pin; submission resolves the pin here to one registered
// engine, and the job records the exact version and image it got, so a later
// registration never changes what an accepted job runs.
import { engineMatches } from "../../engine/discover.js";
import type { Queryable } from "./db.js";

export type EngineHardware = "cpu" | "gpu" | "any";

export interface NewEngine {
  name: string;
  /** the full version, e.g. 5.1.9 */
  version: string;
  /** repo@sha256:<64 hex>, or null for the hosts' own binaries (process runner) */
  image: string | null;
  encoders: string[];
  hwaccels: string[];
  hardware: EngineHardware;
  /** who registered it, for the record (an API key, "region", "demo") */
  registeredBy?: string;
}

export interface EngineRow {
  id: number;
  name: string;
  version: string;
  image: string | null;
  /** sha256:<64 hex>, the part of the image after '@'; null for host binaries */
  digest: string | null;
  encoders: string[];
  hwaccels: string[];
  hardware: EngineHardware;
  registeredAt: Date;
  registeredBy: string;
}

export const ENGINE_NAME_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,31}$";
export const ENGINE_VERSION_PATTERN = "^[0-9]+(\\.[0-9]+){0,3}$";
/**
 * A repository (optional registry host and port, lower-case path components)
 * and a sha256 digest. No tag: a tag can be moved, a digest cannot.
 */
export const ENGINE_IMAGE_PATTERN =
  "^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)?" +
  "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*@sha256:[0-9a-f]{64}$";
const imageRe = new RegExp(ENGINE_IMAGE_PATTERN);

export class EngineInputError extends Error {
  constructor(
    readonly field: "name" | "version" | "image" | "hardware" | "encoders" | "hwaccels",
    readonly reason: string,
  ) {
    super(`engine ${field}: ${reason}`);
    this.name = "EngineInputError";
  }
}

/** Why an image reference is not acceptable, in words; undefined when it is. */
export function engineImageProblem(image: string): string | undefined {
  if (imageRe.test(image)) return undefined;
  if (!image.includes("@"))
    return `engine images are pinned by digest: give repo@sha256:<64 hex digits>, not a tag or a bare name ('${clip(image)}')`;
  if (!/@sha256:[0-9a-f]{64}$/.test(image)) return "the digest must be sha256: followed by 64 lower-case hex digits";
  return `'${clip(image)}' is not a repository reference of the form [registry[:port]/]path@sha256:<64 hex digits> (no tag)`;
}

const clip = (s: string) => (s.length > 80 ? s.slice(0, 77) + "..." : s);

function checkNewEngine(e: NewEngine): void {
  if (!new RegExp(ENGINE_NAME_PATTERN).test(e.name))
    throw new EngineInputError("name", `must match ${ENGINE_NAME_PATTERN} (lower-case letters, digits, '.', '_', '-')`);
  if (!new RegExp(ENGINE_VERSION_PATTERN).test(e.version)) throw new EngineInputError("version", "must be a numeric version such as 5.1.9");
  if (e.image !== null) {
    const why = engineImageProblem(e.image);
    if (why) throw new EngineInputError("image", why);
  }
  if (!["cpu", "gpu", "any"].includes(e.hardware)) throw new EngineInputError("hardware", "must be cpu, gpu or any");
}

const COLUMNS = `id, name, version, image, digest, encoders, hwaccels, hardware, registered_at AS "registeredAt",
  registered_by AS "registeredBy"`;

/**
 * Registers an engine; idempotent on (name, version, image). Registering the
 * same engine again refreshes what it says it can do (encoders, hwaccels,
 * hardware) and returns it with created: false; its identity never changes.
 */
export async function registerEngine(db: Queryable, e: NewEngine): Promise<{ engine: EngineRow; created: boolean }> {
  checkNewEngine(e);
  const r = await db.query<EngineRow & { created: boolean }>(
    `INSERT INTO engines (name, version, image, digest, encoders, hwaccels, hardware, registered_by)
     VALUES ($1, $2, $3, split_part($3, '@', 2), $4, $5, $6, $7)
     ON CONFLICT (name, version, image) DO UPDATE SET encoders = EXCLUDED.encoders, hwaccels = EXCLUDED.hwaccels,
       hardware = EXCLUDED.hardware
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [e.name, e.version, e.image, [...new Set(e.encoders)].sort(), [...new Set(e.hwaccels)].sort(), e.hardware, e.registeredBy ?? ""],
  );
  const { created, ...engine } = r.rows[0]!;
  return { engine, created };
}

export async function listEngines(db: Queryable, opts: { name?: string } = {}): Promise<EngineRow[]> {
  const r = await db.query<EngineRow>(`SELECT ${COLUMNS} FROM engines WHERE $1::text IS NULL OR name = $1 ORDER BY name`, [
    opts.name ?? null,
  ]);
  return r.rows.sort((a, b) => a.name.localeCompare(b.name) || compareVersions(b.version, a.version) || b.id - a.id);
}

/** Numeric, component by component; a missing component sorts below 0 (5.1 < 5.1.0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Which engine hardware serves a composition's hardware choice. */
function servesHardware(engine: EngineHardware, wanted: EngineHardware): boolean {
  return wanted === "any" || engine === "any" || engine === wanted;
}

export type EngineResolution =
  { ok: true; engine: EngineRow } | { ok: false; reason: "not-registered" | "no-hardware"; message: string; registered: EngineRow[] };

/**
 * Picks the engine a pin runs on, from the registered engines. Candidates are
 * those `engineMatches` accepts (the pin "5.1" matches 5.1.x, "5.1.9" only
 * 5.1.9) and whose hardware serves the composition's. Among them the newest
 * version wins; at the same version an image beats host binaries (an image is
 * the same bytes on every host); then the latest registration. Pure, so the
 * rule is tested on its own.
 */
export function chooseEngine(
  registered: EngineRow[],
  pin: { name: string; version: string },
  hardware: EngineHardware = "any",
): EngineResolution {
  const matching = registered.filter((e) => engineMatches(pin, e));
  const fitting = matching.filter((e) => servesHardware(e.hardware, hardware));
  if (fitting.length === 0) {
    const same = registered.filter((e) => e.name === pin.name);
    const list = describe(same.length > 0 ? same : registered);
    if (matching.length > 0) {
      return {
        ok: false,
        reason: "no-hardware",
        registered: matching,
        message: `engine ${pin.name} ${pin.version} is registered in this region only for ${[...new Set(matching.map((e) => e.hardware))].join(", ")} hardware, not ${hardware}; registered: ${list}`,
      };
    }
    return {
      ok: false,
      reason: "not-registered",
      registered,
      message: `engine ${pin.name} ${pin.version} is not registered in this region; registered: ${list}`,
    };
  }
  const best = [...fitting].sort(
    (a, b) =>
      compareVersions(b.version, a.version) ||
      Number(b.image !== null) - Number(a.image !== null) ||
      new Date(b.registeredAt).getTime() - new Date(a.registeredAt).getTime() ||
      b.id - a.id,
  )[0]!;
  return { ok: true, engine: best };
}

function describe(engines: EngineRow[]): string {
  if (engines.length === 0) return "none";
  const names = [...new Set(engines.map((e) => `${e.name} ${e.version}${e.image ? ` (${e.image.split("@")[0]})` : " (host binaries)"}`))];
  return names.slice(0, 10).join(", ") + (names.length > 10 ? ` and ${names.length - 10} more` : "");
}

/** Resolves a pin against this region's registry (see chooseEngine for which engine wins). */
export async function resolveEngine(
  db: Queryable,
  pin: { name: string; version: string },
  hardware: EngineHardware = "any",
): Promise<EngineResolution> {
  return chooseEngine(await listEngines(db), pin, hardware);
}
