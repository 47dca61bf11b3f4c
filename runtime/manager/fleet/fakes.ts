// Fake cloud endpoints for the provider tests. Each is a real HTTP(S) server on
// loopback that speaks the cloud's wire API as its SDK sends it — AWS query
// protocol (form-encoded POST, XML replies), GCP Compute REST (JSON, zonal
// operations), Azure Resource Manager (JSON, long-running operations polled
// through Azure-AsyncOperation) — so the real SDKs run unmodified against
// them. They stand in only because the clouds cannot be reached from a test.
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

export interface FakeGroup {
  desired: number;
  min: number;
  max: number;
  instances: { id: string; state: string }[];
}

export interface RecordedCall {
  op: string;
  method: string;
  path: string;
  params: Record<string, string>;
  body: unknown;
  authorization: string;
}

/** Shared bookkeeping: recorded calls and failures injected per operation. */
abstract class FakeCloud {
  readonly calls: RecordedCall[] = [];
  readonly groups = new Map<string, FakeGroup>();
  private readonly failures = new Map<string, ("throttle" | "deny")[]>();
  protected server!: http.Server | https.Server;
  url = "";

  /** the next `times` calls of `op` fail with throttling (or a permission failure) */
  failNext(op: string, kind: "throttle" | "deny", times = 1): void {
    const q = this.failures.get(op) ?? [];
    for (let i = 0; i < times; i++) q.push(kind);
    this.failures.set(op, q);
  }

  protected takeFailure(op: string): "throttle" | "deny" | undefined {
    return this.failures.get(op)?.shift();
  }

  protected async listen(server: http.Server | https.Server, scheme: string): Promise<void> {
    this.server = server;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    this.url = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

// ---------------------------------------------------------------- AWS

const ASG_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

export class FakeAwsAutoScaling extends FakeCloud {
  static async start(): Promise<FakeAwsAutoScaling> {
    const f = new FakeAwsAutoScaling();
    await f.listen(
      http.createServer((req, res) => void f.handle(req, res)),
      "http",
    );
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const params = Object.fromEntries(new URLSearchParams(raw));
    const op = params.Action ?? "";
    this.calls.push({
      op,
      method: req.method ?? "",
      path: req.url ?? "",
      params,
      body: raw,
      authorization: String(req.headers.authorization ?? ""),
    });
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": `req-${this.calls.length}` });
      res.end(`<?xml version="1.0"?>\n${xml}`);
    };
    const error = (status: number, code: string, message: string) =>
      reply(
        status,
        `<ErrorResponse xmlns="${ASG_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-${this.calls.length}</RequestId></ErrorResponse>`,
      );
    if (
      req.method !== "POST" ||
      !String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded") ||
      params.Version !== "2011-01-01"
    ) {
      return error(400, "InvalidAction", "expected a form-encoded query-protocol POST, Version 2011-01-01");
    }
    const failure = this.takeFailure(op);
    if (failure === "throttle") return error(400, "Throttling", "Rate exceeded");
    if (failure === "deny")
      return error(
        403,
        "AccessDenied",
        `User: arn:aws:sts::123456789012:assumed-role/framefleet-manager/x is not authorized to perform: autoscaling:${op}`,
      );
    const meta = `<ResponseMetadata><RequestId>req-${this.calls.length}</RequestId></ResponseMetadata>`;
    switch (op) {
      case "DescribeAutoScalingGroups": {
        const names = Object.entries(params)
          .filter(([k]) => k.startsWith("AutoScalingGroupNames.member."))
          .map(([, v]) => v);
        const members = names.flatMap((n) => {
          const g = this.groups.get(n);
          if (!g) return [];
          const inst = g.instances
            .map(
              (i) =>
                `<member><InstanceId>${i.id}</InstanceId><LifecycleState>${i.state}</LifecycleState><HealthStatus>Healthy</HealthStatus><AvailabilityZone>us-east-1a</AvailabilityZone><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`,
            )
            .join("");
          return [
            `<member><AutoScalingGroupName>${n}</AutoScalingGroupName><MinSize>${g.min}</MinSize><MaxSize>${g.max}</MaxSize><DesiredCapacity>${g.desired}</DesiredCapacity><DefaultCooldown>300</DefaultCooldown><AvailabilityZones><member>us-east-1a</member></AvailabilityZones><HealthCheckType>EC2</HealthCheckType><CreatedTime>2026-01-01T00:00:00Z</CreatedTime><Instances>${inst}</Instances></member>`,
          ];
        });
        return reply(
          200,
          `<DescribeAutoScalingGroupsResponse xmlns="${ASG_NS}"><DescribeAutoScalingGroupsResult><AutoScalingGroups>${members.join("")}</AutoScalingGroups></DescribeAutoScalingGroupsResult>${meta}</DescribeAutoScalingGroupsResponse>`,
        );
      }
      case "SetDesiredCapacity": {
        const g = this.groups.get(params.AutoScalingGroupName ?? "");
        if (!g) return error(400, "ValidationError", `AutoScalingGroup name not found - ${params.AutoScalingGroupName}`);
        const n = Number(params.DesiredCapacity);
        if (n > g.max || n < g.min)
          return error(400, "ValidationError", `New SetDesiredCapacity value ${n} is above max value ${g.max} for the AutoScalingGroup.`);
        g.desired = n;
        while (g.instances.length < n) g.instances.push({ id: `i-${Math.random().toString(16).slice(2, 19)}`, state: "Pending" });
        return reply(200, `<SetDesiredCapacityResponse xmlns="${ASG_NS}">${meta}</SetDesiredCapacityResponse>`);
      }
      case "TerminateInstanceInAutoScalingGroup": {
        const id = params.InstanceId ?? "";
        const entry = [...this.groups.entries()].find(([, g]) => g.instances.some((i) => i.id === id));
        if (!entry) return error(400, "ValidationError", `Instance Id not found - No managed instance found for instance ID: ${id}`);
        const g = entry[1];
        g.instances = g.instances.filter((i) => i.id !== id);
        if (params.ShouldDecrementDesiredCapacity === "true") g.desired--;
        return reply(
          200,
          `<TerminateInstanceInAutoScalingGroupResponse xmlns="${ASG_NS}"><TerminateInstanceInAutoScalingGroupResult><Activity><ActivityId>act-1</ActivityId><AutoScalingGroupName>${entry[0]}</AutoScalingGroupName><Description>Terminating EC2 instance: ${id}</Description><Cause>user request</Cause><StartTime>2026-01-01T00:00:00Z</StartTime><StatusCode>InProgress</StatusCode><Progress>0</Progress></Activity></TerminateInstanceInAutoScalingGroupResult>${meta}</TerminateInstanceInAutoScalingGroupResponse>`,
        );
      }
      default:
        return error(400, "InvalidAction", `unknown action ${op}`);
    }
  }
}

// ---------------------------------------------------------------- GCP

export class FakeGcpCompute extends FakeCloud {
  private opSeq = 0;

  static async start(): Promise<FakeGcpCompute> {
    const f = new FakeGcpCompute();
    await f.listen(
      http.createServer((req, res) => void f.handle(req, res)),
      "http",
    );
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const raw = await readBody(req);
    const body = raw ? (JSON.parse(raw) as unknown) : undefined;
    // zonal MIGs under zones/<zone>, regional ones under regions/<region> (their instances spread over its zones)
    const m = url.pathname.match(
      /^\/compute\/v1\/projects\/([^/]+)\/(zones|regions)\/([^/]+)\/instanceGroupManagers\/([^/]+)(?:\/(resize|deleteInstances|listManagedInstances))?$/,
    );
    const regional = m?.[2] === "regions";
    const verb = m?.[5] ?? (req.method === "GET" ? "get" : "?");
    const op = `${regional ? "regionInstanceGroupManagers" : "instanceGroupManagers"}.${verb}`;
    this.calls.push({
      op,
      method: req.method ?? "",
      path: url.pathname,
      params: Object.fromEntries(url.searchParams),
      body,
      authorization: String(req.headers.authorization ?? ""),
    });
    const json = (status: number, v: unknown) => {
      res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
      res.end(JSON.stringify(v));
    };
    const error = (code: number, status: string, reason: string, message: string) =>
      json(code, { error: { code, message, errors: [{ message, domain: code === 429 ? "usageLimits" : "global", reason }], status } });
    if (!m) return error(404, "NOT_FOUND", "notFound", `The resource '${url.pathname}' was not found`);
    const [, project, scope, where, name] = m;
    const zone = where!;
    // where a regional MIG put each instance: one of the region's zones, stable per instance
    const zoneOf = (id: string) => (regional ? `${where}-${"abc"[[...id].reduce((n, ch) => n + ch.charCodeAt(0), 0) % 3]}` : where!);
    const failure = this.takeFailure(op);
    if (failure === "throttle")
      return error(
        429,
        "RESOURCE_EXHAUSTED",
        "rateLimitExceeded",
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'",
      );
    if (failure === "deny")
      return error(
        403,
        "PERMISSION_DENIED",
        "forbidden",
        `Required 'compute.instanceGroupManagers.update' permission for 'projects/${project}/${scope}/${where}/instanceGroupManagers/${name}'`,
      );
    const g = this.groups.get(name!);
    if (!g)
      return error(
        404,
        "NOT_FOUND",
        "notFound",
        `The resource 'projects/${project}/${scope}/${where}/instanceGroupManagers/${name}' was not found`,
      );
    const self = `https://www.googleapis.com/compute/v1/projects/${project}/${scope}/${where}/instanceGroupManagers/${name}`;
    const operation = (type: string) => ({
      kind: "compute#operation",
      id: String(++this.opSeq),
      name: `operation-${this.opSeq}`,
      operationType: type,
      targetLink: self,
      status: "DONE",
      progress: 100,
      ...(regional
        ? { region: `https://www.googleapis.com/compute/v1/projects/${project}/regions/${where}` }
        : { zone: `https://www.googleapis.com/compute/v1/projects/${project}/zones/${where}` }),
      selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/${scope}/${where}/operations/operation-${this.opSeq}`,
    });
    switch (verb) {
      case "get":
        return json(200, {
          kind: "compute#instanceGroupManager",
          name,
          ...(regional ? { region: where } : { zone }),
          targetSize: g.desired,
          baseInstanceName: name,
          selfLink: self,
        });
      case "resize": {
        if (req.method !== "POST") return error(405, "INVALID_ARGUMENT", "invalid", "method");
        g.desired = Number(url.searchParams.get("size"));
        while (g.instances.length < g.desired)
          g.instances.push({ id: `${name}-${Math.random().toString(36).slice(2, 6)}`, state: "CREATING" });
        return json(200, operation(`compute.${op}`));
      }
      case "deleteInstances": {
        // an instance named in a zone it is not in fails validation, and skipInstancesOnValidationError skips it
        const wanted = ((body as { instances?: string[] })?.instances ?? [])
          .map((u) => /zones\/([^/]+)\/instances\/([^/]+)$/.exec(u))
          .filter((x) => x && x[1] === zoneOf(x[2]!))
          .map((x) => x![2]);
        const before = g.instances.length;
        g.instances = g.instances.filter((i) => !wanted.includes(i.id));
        g.desired -= before - g.instances.length;
        return json(200, operation(`compute.${op}`));
      }
      case "listManagedInstances":
        return json(200, {
          managedInstances: g.instances.map((i) => ({
            instance: `https://www.googleapis.com/compute/v1/projects/${project}/zones/${zoneOf(i.id)}/instances/${i.id}`,
            currentAction: i.state,
            instanceStatus: i.state === "NONE" ? "RUNNING" : "PROVISIONING",
          })),
        });
      default:
        return error(400, "INVALID_ARGUMENT", "invalid", `unsupported ${verb}`);
    }
  }
}

// ---------------------------------------------------------------- Azure

export class FakeAzureArm extends FakeCloud {
  private readonly operations = new Map<string, { polls: number }>();
  private seq = 0;

  static async start(tls: { key: string; cert: string }): Promise<FakeAzureArm> {
    const f = new FakeAzureArm();
    await f.listen(
      https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => void f.handle(req, res)),
      "https",
    );
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://x");
    const raw = await readBody(req);
    const body = raw ? (JSON.parse(raw) as unknown) : undefined;
    const json = (status: number, v: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "x-ms-request-id": `r${this.calls.length}`, ...headers });
      res.end(v === undefined ? "" : JSON.stringify(v));
    };
    const opm = url.pathname.match(/^\/providers\/Microsoft\.Compute\/locations\/eastus\/operations\/([^/]+)$/);
    if (opm) {
      this.calls.push({
        op: "operations.get",
        method: req.method ?? "",
        path: url.pathname,
        params: Object.fromEntries(url.searchParams),
        body,
        authorization: String(req.headers.authorization ?? ""),
      });
      const o = this.operations.get(opm[1]!);
      if (!o) return json(404, { error: { code: "NotFound", message: "operation" } });
      o.polls++;
      return json(200, { name: opm[1], status: o.polls >= 2 ? "Succeeded" : "InProgress", startTime: new Date().toISOString() });
    }
    const m = url.pathname.match(
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/([^/]+)(?:\/(delete|virtualMachines))?$/i,
    );
    const verb = !m
      ? "?"
      : m[4] === "delete"
        ? "deleteInstances"
        : m[4] === "virtualMachines"
          ? "vms.list"
          : req.method === "PATCH"
            ? "update"
            : "get";
    const op = `virtualMachineScaleSets.${verb}`;
    this.calls.push({
      op,
      method: req.method ?? "",
      path: url.pathname,
      params: Object.fromEntries(url.searchParams),
      body,
      authorization: String(req.headers.authorization ?? ""),
    });
    if (!m || !url.searchParams.get("api-version"))
      return json(400, {
        error: {
          code: "MissingApiVersionParameter",
          message: "The api-version query parameter (?api-version=) is required for all requests.",
        },
      });
    const failure = this.takeFailure(op);
    if (failure === "throttle")
      return json(
        429,
        { error: { code: "TooManyRequests", message: "The request is being throttled." } },
        { "retry-after-ms": "50", "x-ms-ratelimit-remaining-resource": "Microsoft.Compute/VMScaleSetBatchedVMRequests3Min;0" },
      );
    if (failure === "deny") {
      return json(403, {
        error: {
          code: "AuthorizationFailed",
          message: `The client 'framefleet-manager' does not have authorization to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' over scope '${url.pathname}' or the scope is invalid.`,
        },
      });
    }
    const [, sub, rg, name] = m;
    const g = this.groups.get(name!);
    if (!g)
      return json(404, {
        error: {
          code: "ResourceNotFound",
          message: `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${name}' under resource group '${rg}' was not found.`,
        },
      });
    const resource = () => ({
      id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`,
      name,
      type: "Microsoft.Compute/virtualMachineScaleSets",
      location: "eastus",
      sku: { name: "Standard_D16s_v5", tier: "Standard", capacity: g.desired },
      properties: { provisioningState: "Succeeded", orchestrationMode: "Uniform" },
    });
    const lro = () => {
      const id = `op-${++this.seq}`;
      this.operations.set(id, { polls: 0 });
      return { "azure-asyncoperation": `${this.url}/providers/Microsoft.Compute/locations/eastus/operations/${id}?api-version=2024-11-01` };
    };
    switch (verb) {
      case "get":
        return json(200, resource());
      case "update": {
        const cap = (body as { sku?: { capacity?: number } })?.sku?.capacity;
        if (typeof cap === "number") {
          g.desired = cap;
          while (g.instances.length < cap) g.instances.push({ id: String(this.seq * 10 + g.instances.length), state: "Creating" });
        }
        return json(200, { ...resource(), properties: { provisioningState: "Updating" } }, lro());
      }
      case "deleteInstances": {
        const ids = (body as { instanceIds?: string[] })?.instanceIds ?? [];
        const before = g.instances.length;
        g.instances = g.instances.filter((i) => !ids.includes(i.id));
        g.desired -= before - g.instances.length;
        const op = lro();
        return json(202, undefined, { ...op, location: op["azure-asyncoperation"] });
      }
      case "vms.list":
        return json(200, {
          value: g.instances.map((i) => ({
            id: `${resource().id}/virtualMachines/${i.id}`,
            name: `${name}_${i.id}`,
            instanceId: i.id,
            properties: { provisioningState: i.state, osProfile: { computerName: `ffpool${i.id.padStart(6, "0")}` } },
          })),
        });
      default:
        return json(400, { error: { code: "BadRequest", message: verb } });
    }
  }
}
