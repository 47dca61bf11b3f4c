// The manager's fleet provider, built from the region's configuration (the
// `fleet` object of manager.json, which the Pulumi region component writes):
//
//   { "provider": "aws", "region": "eu-west-1" }
//   { "provider": "gcp", "project": "acme-media", "region": "europe-west1" }   regional MIGs ("zone" for zonal ones)
//   { "provider": "azure", "subscriptionId": "…", "resourceGroup": "acme-weu" }
//   { "provider": "local" }                      the embedded region's coordinator processes
//   { "provider": "simulated", "bootMs": 40000 } hosts in memory (demos, tests)
//
// A bad or missing setting fails the manager's start with the field's name,
// rather than at the first scaling decision.
import { AwsFleetProvider } from "./aws.js";
import { AzureFleetProvider } from "./azure.js";
import { GcpFleetProvider } from "./gcp.js";
import { SimulatedFleetProvider } from "./simulated.js";
import type { FleetProvider, ProviderKind } from "./provider.js";

export type FleetSettings =
  | { provider: "aws"; region: string; endpoint?: string; maxAttempts?: number }
  | { provider: "gcp"; project: string; region?: string; zone?: string; apiEndpoint?: string }
  | { provider: "azure"; subscriptionId: string; resourceGroup: string; endpoint?: string }
  | { provider: "local" }
  | { provider: "simulated"; bootMs?: number };

const KINDS: ProviderKind[] = ["aws", "gcp", "azure", "local", "simulated"];

export class FleetConfigError extends Error {
  constructor(
    /** the setting's path, e.g. fleet.region */
    readonly field: string,
    message: string,
  ) {
    super(`invalid configuration "${field}": ${message}`);
    this.name = "FleetConfigError";
  }
}

/** Checks the region's `fleet` settings; `at` is where they sit in the configuration, for the error. */
export function parseFleetSettings(raw: unknown, at = "fleet"): FleetSettings {
  if (raw === undefined || raw === null) throw new FleetConfigError(at, `missing: set "provider" to one of ${KINDS.join(", ")}`);
  if (typeof raw !== "object" || Array.isArray(raw)) throw new FleetConfigError(at, `must be an object, got ${JSON.stringify(raw)}`);
  const o = raw as Record<string, unknown>;
  const kind = o.provider;
  if (kind === undefined) throw new FleetConfigError(`${at}.provider`, `missing: one of ${KINDS.join(", ")}`);
  if (typeof kind !== "string" || !(KINDS as string[]).includes(kind))
    throw new FleetConfigError(`${at}.provider`, `${JSON.stringify(kind)} is not one of ${KINDS.join(", ")}`);
  const str = (key: string, required: boolean): string | undefined => {
    const v = o[key];
    if (v === undefined || v === "") {
      if (required) throw new FleetConfigError(`${at}.${key}`, `missing: the ${kind} provider needs it`);
      return undefined;
    }
    if (typeof v !== "string") throw new FleetConfigError(`${at}.${key}`, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (key: string, min: number): number | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min)
      throw new FleetConfigError(`${at}.${key}`, `must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const known: Record<ProviderKind, string[]> = {
    aws: ["region", "endpoint", "maxAttempts"],
    gcp: ["project", "region", "zone", "apiEndpoint"],
    azure: ["subscriptionId", "resourceGroup", "endpoint"],
    local: [],
    simulated: ["bootMs"],
  };
  // a misspelt key would otherwise be ignored and the provider built with a default
  for (const key of Object.keys(o))
    if (key !== "provider" && !known[kind as ProviderKind].includes(key))
      throw new FleetConfigError(
        `${at}.${key}`,
        `not a setting of the ${kind} provider (${known[kind as ProviderKind].join(", ") || "it has none"})`,
      );
  switch (kind as ProviderKind) {
    case "aws":
      return { provider: "aws", region: str("region", true)!, endpoint: str("endpoint", false), maxAttempts: num("maxAttempts", 1) };
    case "gcp": {
      const region = str("region", false);
      const zone = str("zone", false);
      if (!region === !zone)
        throw new FleetConfigError(
          `${at}.${region ? "zone" : "region"}`,
          region
            ? "give region (regional MIGs) or zone (zonal MIGs), not both"
            : "missing: the gcp provider needs the MIGs' region (or zone, for zonal MIGs)",
        );
      return { provider: "gcp", project: str("project", true)!, region, zone, apiEndpoint: str("apiEndpoint", false) };
    }
    case "azure":
      return {
        provider: "azure",
        subscriptionId: str("subscriptionId", true)!,
        resourceGroup: str("resourceGroup", true)!,
        endpoint: str("endpoint", false),
      };
    case "local":
      return { provider: "local" };
    case "simulated":
      return { provider: "simulated", bootMs: num("bootMs", 0) };
  }
}

export interface FleetProviderDeps {
  /** the manager's local fleet (coordinator processes), for provider "local" */
  local?: FleetProvider;
  /** the autoscaler's host groups, for provider "simulated" */
  groups?: { name: string; maxSize: number; pricePerHour: number }[];
  now?(): number;
}

/** Builds the provider the settings name. */
export function createFleetProvider(settings: FleetSettings, deps: FleetProviderDeps = {}, at = "fleet"): FleetProvider {
  switch (settings.provider) {
    case "aws":
      return new AwsFleetProvider({ region: settings.region, endpoint: settings.endpoint, maxAttempts: settings.maxAttempts });
    case "gcp":
      return new GcpFleetProvider({
        project: settings.project,
        region: settings.region,
        zone: settings.zone,
        apiEndpoint: settings.apiEndpoint,
      });
    case "azure":
      return new AzureFleetProvider({
        subscriptionId: settings.subscriptionId,
        resourceGroup: settings.resourceGroup,
        endpoint: settings.endpoint,
      });
    case "local":
      if (!deps.local)
        throw new FleetConfigError(
          `${at}.provider`,
          `"local" is the embedded region's own coordinator processes (the manager's fleet option, \`framefleet start\`), not a fleet the autoscaler scales`,
        );
      return deps.local;
    case "simulated": {
      const bootMs = settings.bootMs ?? 40_000;
      return new SimulatedFleetProvider(
        Object.fromEntries((deps.groups ?? []).map((g) => [g.name, { max: g.maxSize, pricePerHour: g.pricePerHour }])),
        deps.now ?? Date.now,
        () => bootMs,
      );
    }
  }
}

/** The provider for the region's `fleet` settings, or a FleetConfigError naming the bad field. */
export function fleetProviderFromConfig(raw: unknown, deps: FleetProviderDeps = {}, at = "fleet"): FleetProvider {
  return createFleetProvider(parseFleetSettings(raw, at), deps, at);
}
