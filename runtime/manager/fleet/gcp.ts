// GCP: one managed instance group (MIG) per host group — the worker pool
// component makes two regional MIGs per pool, spot and standard — through
// Google's client library over its REST transport; a zonal MIG is driven the
// same way (`zone` instead of `region`). resize sets the target size;
// deleteInstances removes a chosen instance and lowers the target size with it. Compute's
// mutating calls are not retried by the library (they are not idempotent), so
// a throttled call (HTTP 429 / RESOURCE_EXHAUSTED) is retried here: resize to an
// absolute size and deleting a named instance are both safe to repeat.
import { InstanceGroupManagersClient, RegionInstanceGroupManagersClient } from "@google-cloud/compute";
import { classifyStatus, FleetProviderError, withRetries, type FleetProvider, type GroupInstance, type GroupSnapshot } from "./provider.js";

export interface GcpFleetOptions {
  project: string;
  /** the MIGs' region (regional MIGs, as the worker pool component makes); exactly one of region and zone */
  region?: string;
  /** the MIGs' zone (zonal MIGs) */
  zone?: string;
  /** host[:port] of the Compute API; default compute.googleapis.com */
  apiEndpoint?: string;
  /** "http" only for a test's fake endpoint */
  protocol?: "http" | "https";
  /** an auth client (google-auth-library) or anything with getRequestHeaders + fetch; default: application default credentials */
  auth?: unknown;
  attempts?: number;
  retryBaseMs?: number;
}

// gRPC status codes the REST transport maps HTTP errors to
const GRPC = { NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

/** The calls this provider makes, the same for a zonal and a regional MIG but for where and the delete body's name. */
type MigClient = Pick<InstanceGroupManagersClient, "get" | "resize" | "deleteInstances" | "listManagedInstancesAsync" | "close">;

export class GcpFleetProvider implements FleetProvider {
  readonly kind = "gcp" as const;
  private readonly client: MigClient;
  private readonly where: { zone: string } | { region: string };
  /** instance name -> its zone, learnt from the MIG's list (a regional MIG spreads over zones) */
  private readonly zones = new Map<string, string>();

  constructor(private readonly opts: GcpFleetOptions) {
    if (!!opts.region === !!opts.zone)
      throw new Error("GcpFleetProvider: give exactly one of region (regional MIGs) and zone (zonal MIGs)");
    this.where = opts.region ? { region: opts.region } : { zone: opts.zone! };
    let apiEndpoint = opts.apiEndpoint;
    let port: number | undefined;
    const m = apiEndpoint?.match(/^(.*):(\d+)$/);
    if (m) {
      apiEndpoint = m[1];
      port = Number(m[2]);
    }
    const clientOptions = {
      fallback: true,
      ...(apiEndpoint ? { apiEndpoint } : {}),
      ...(port ? { port } : {}),
      ...(opts.protocol ? { protocol: opts.protocol } : {}),
      ...(opts.auth ? { auth: opts.auth as never } : {}),
    } as ConstructorParameters<typeof InstanceGroupManagersClient>[0];
    this.client = (
      opts.region ? new RegionInstanceGroupManagersClient(clientOptions) : new InstanceGroupManagersClient(clientOptions)
    ) as MigClient;
  }

  private get api(): string {
    return "region" in this.where ? "regionInstanceGroupManagers" : "instanceGroupManagers";
  }

  private mig(group: string) {
    return { project: this.opts.project, ...this.where, instanceGroupManager: group } as {
      project: string;
      zone: string;
      instanceGroupManager: string;
    };
  }

  async describe(group: string): Promise<GroupSnapshot> {
    const [mig] = await this.call(`${this.api}.get`, () => this.client.get(this.mig(group)));
    const instances: GroupInstance[] = [];
    await this.call(`${this.api}.listManagedInstances`, async () => {
      instances.length = 0;
      for await (const mi of this.client.listManagedInstancesAsync(this.mig(group))) {
        // https://www.googleapis.com/compute/v1/projects/<p>/zones/<zone>/instances/<name>
        const url = String(mi.instance ?? "");
        const id = url.split("/").pop() ?? "";
        const zone = /\/zones\/([^/]+)\/instances\//.exec(url)?.[1];
        if (zone) this.zones.set(id, zone);
        instances.push({ id, state: stateOf(String(mi.currentAction ?? ""), String(mi.instanceStatus ?? "")) });
      }
    });
    return { group, desired: Number(mig.targetSize ?? 0), min: 0, max: Number.MAX_SAFE_INTEGER, instances };
  }

  async setDesiredCapacity(group: string, desired: number): Promise<void> {
    const [op] = await this.call(`${this.api}.resize`, () => this.client.resize({ ...this.mig(group), size: desired }));
    this.checkOperation(`${this.api}.resize`, op);
  }

  async terminateInstance(group: string, instanceId: string): Promise<void> {
    const operation = `${this.api}.deleteInstances`;
    let zone = "zone" in this.where ? this.where.zone : this.zones.get(instanceId);
    if (!zone) {
      await this.describe(group);
      zone = this.zones.get(instanceId);
    }
    if (!zone)
      throw new FleetProviderError("gcp", operation, "not-found", `instance ${instanceId} is not in managed instance group ${group}`, 404);
    const body = { instances: [`zones/${zone}/instances/${instanceId}`], skipInstancesOnValidationError: true };
    const [op] = await this.call(operation, () =>
      this.client.deleteInstances({
        ...this.mig(group),
        // the same request body under each API's own name
        ...("region" in this.where
          ? { regionInstanceGroupManagersDeleteInstancesRequestResource: body }
          : { instanceGroupManagersDeleteInstancesRequestResource: body }),
      }),
    );
    this.checkOperation(operation, op);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** The operation is accepted; an error the API put on it at once is reported (the loop re-reads the group, so it does not wait for DONE). */
  private checkOperation(operation: string, op: unknown): void {
    const latest = (op as { latestResponse?: { error?: { errors?: { code?: string; message?: string }[] } } })?.latestResponse;
    const e = latest?.error?.errors?.[0];
    if (e)
      throw new FleetProviderError("gcp", operation, classifyStatus(undefined, e.code), e.message ?? "operation failed", undefined, e.code);
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return withRetries(
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw toFleetError(operation, err);
        }
      },
      {
        attempts: this.opts.attempts ?? 5,
        baseMs: this.opts.retryBaseMs ?? 200,
        retryable: (e) => e instanceof FleetProviderError && (e.kind === "throttled" || e.kind === "unavailable"),
      },
    );
  }
}

function toFleetError(operation: string, err: unknown): FleetProviderError {
  const e = err as { code?: number; message?: string; details?: string; statusDetails?: unknown };
  const status = httpStatusOf(e.code);
  const reason = String(e.message ?? err);
  return new FleetProviderError(
    "gcp",
    operation,
    classifyStatus(status, reason.match(/\b(PERMISSION_DENIED|RESOURCE_EXHAUSTED|NOT_FOUND|rateLimitExceeded|forbidden)\b/)?.[1]),
    reason,
    status,
    e.code !== undefined ? String(e.code) : undefined,
  );
}

function httpStatusOf(grpcCode: number | undefined): number | undefined {
  switch (grpcCode) {
    case GRPC.PERMISSION_DENIED:
      return 403;
    case GRPC.UNAUTHENTICATED:
      return 401;
    case GRPC.RESOURCE_EXHAUSTED:
      return 429;
    case GRPC.NOT_FOUND:
      return 404;
    case GRPC.UNAVAILABLE:
      return 503;
    default:
      return undefined;
  }
}

function stateOf(action: string, status: string): GroupInstance["state"] {
  if (/DELETING|ABANDONING|STOPPING|SUSPENDING/.test(action) || /STOPPING|TERMINATED|SUSPENDED/.test(status)) return "terminating";
  if (/CREATING|RECREATING|VERIFYING|STARTING|RESTARTING/.test(action) || /PROVISIONING|STAGING/.test(status)) return "pending";
  return "running";
}

/**
 * A fixed bearer token in place of Google's credentials (for a test's fake
 * endpoint, or a token minted elsewhere); the REST transport calls fetch on it.
 */
export function staticTokenAuth(token: string): {
  getRequestHeaders(): Promise<Headers>;
  fetch(url: string, init: { headers?: unknown; method?: string; body?: unknown; signal?: AbortSignal }): Promise<Response>;
} {
  return {
    async getRequestHeaders() {
      return new Headers({ authorization: `Bearer ${token}` });
    },
    async fetch(url, init) {
      const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0]);
      headers.set("authorization", `Bearer ${token}`);
      return fetch(url, { method: init.method, headers, body: init.body as RequestInit["body"], signal: init.signal });
    },
  };
}
