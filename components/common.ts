// Shared vocabulary of the framefleet components: clouds, configuration errors,
// naming and tagging. Pure; no Pulumi resources are declared here.
import { createHash } from "node:crypto";

export const CLOUDS = ["aws", "gcp", "azure"] as const;
export type Cloud = (typeof CLOUDS)[number];

/**
 * A configuration mistake. `key` names the offending setting exactly as the
 * user wrote it (e.g. `framefleet:pools[1].onDemandPercentageAboveBase`), so
 * the message can be acted on without reading code.
 */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`invalid configuration "${key}": ${detail}`);
    this.name = "ConfigError";
  }
}

export function isCloud(v: unknown): v is Cloud {
  return typeof v === "string" && (CLOUDS as readonly string[]).includes(v);
}

/** Never-reached branch helper for exhaustive switches over `Cloud`. */
export function unreachable(v: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${String(v)}`);
}

/** Tags applied to every taggable resource (AWS tags, Azure tags). */
export function baseTags(installation: string, region: string, extra: Record<string, string> = {}): Record<string, string> {
  return { "framefleet:installation": installation, "framefleet:region": region, "managed-by": "pulumi", ...extra };
}

/** GCP labels: lowercase letters, digits, `_` and `-`, at most 63 characters. */
export function gcpLabels(tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    const clean = (s: string) =>
      s
        .toLowerCase()
        .replace(/[^a-z0-9_-]/g, "_")
        .slice(0, 63);
    out[clean(k)] = clean(v);
  }
  return out;
}

/**
 * A GCP service-account id (6-30 characters): the readable name when it fits,
 * else a truncation plus a short hash, so two long names never collide.
 */
export function gcpAccountId(...parts: string[]): string {
  const full = physicalName(...parts);
  if (full.length <= 30) return full.length >= 6 ? full : `${full}-sa000`.slice(0, 6);
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 6);
  return `${full.slice(0, 23).replace(/-$/, "")}-${hash}`;
}

/** A resource name that satisfies the strictest cloud (GCP: [a-z]([-a-z0-9]*[a-z0-9])?, <= 63). */
export function physicalName(...parts: string[]): string {
  const s = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  return s.slice(0, 63).replace(/-$/, "");
}
