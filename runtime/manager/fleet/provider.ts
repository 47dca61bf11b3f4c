// The one interface every fleet provider implements (aws | gcp | azure | local |
// simulated). A provider knows only groups of identical hosts and three verbs:
// describe a group, set how many hosts it should have, and terminate a chosen
// host. What to do, and when, is the autoscaler's policy (../autoscaler/policy.ts).

export type ProviderKind = "aws" | "gcp" | "azure" | "local" | "simulated";
export type CapacityType = "spot" | "on-demand";

export interface GroupInstance {
  /** the cloud's instance id (AWS i-…, GCP instance name, Azure VMSS instance id) */
  id: string;
  /** pending: booting; running: up; terminating: on its way out */
  state: "pending" | "running" | "terminating";
  /** the coordinator this host joined as, where the provider can tell */
  coordinatorId?: string;
  /** the host's name as its coordinator reports it, where it differs from the id (Azure VMSS computer names) */
  hostname?: string;
  launchedAt?: Date;
}

export interface GroupSnapshot {
  group: string;
  desired: number;
  min: number;
  max: number;
  instances: GroupInstance[];
}

export interface FleetProvider {
  readonly kind: ProviderKind;
  describe(group: string): Promise<GroupSnapshot>;
  /** asks for `desired` hosts in the group (the cloud adds or removes hosts of its choosing to get there) */
  setDesiredCapacity(group: string, desired: number): Promise<void>;
  /** terminates one chosen host and lowers the group's desired size by one, so the cloud does not replace it */
  terminateInstance(group: string, instanceId: string): Promise<void>;
  close?(): Promise<void>;
}

export type FleetErrorKind = "permission" | "throttled" | "not-found" | "invalid" | "unavailable";

/** A provider call that failed, classified so callers and operators can act on it. */
export class FleetProviderError extends Error {
  constructor(
    readonly provider: ProviderKind,
    readonly operation: string,
    readonly kind: FleetErrorKind,
    detail: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(
      `${provider} ${operation} failed (${kind}${code ? `: ${code}` : ""}): ${detail}${kind === "permission" ? ` — the manager's cloud identity lacks the permission for ${operation}; grant it in the fleet role` : ""}`,
    );
    this.name = "FleetProviderError";
  }
}

export function classifyStatus(status: number | undefined, code: string | undefined): FleetErrorKind {
  const c = (code ?? "").toLowerCase();
  if (status === 401 || status === 403 || /accessdenied|unauthorized|forbidden|permission|authorizationfailed/.test(c)) return "permission";
  if (status === 429 || /throttl|ratelimit|rate_limit|toomanyrequests|resource_exhausted|requestlimitexceeded/.test(c)) return "throttled";
  if (status === 404 || /notfound|not_found|validationerror.*not found/.test(c)) return "not-found";
  if (status !== undefined && status >= 400 && status < 500) return "invalid";
  return "unavailable";
}

/**
 * Retries a call while it is throttled (or the cloud is briefly unavailable),
 * with capped exponential backoff and jitter. Permission and validation
 * failures are not retried: they will not get better by waiting.
 */
export async function withRetries<T>(
  fn: () => Promise<T>,
  opts: { attempts?: number; baseMs?: number; maxMs?: number; retryable(err: unknown): boolean },
): Promise<T> {
  const attempts = opts.attempts ?? 5;
  let delay = opts.baseMs ?? 200;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !opts.retryable(err)) throw err;
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
      delay = Math.min(opts.maxMs ?? 5000, delay * 2);
    }
  }
}
