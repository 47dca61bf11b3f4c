// ManagerDeployment: the manager's Kubernetes objects, on any cluster.
// A restricted namespace; a Deployment (>= 2 replicas, non-root, read-only root
// filesystem, probes on /healthz and /readyz, limits) with a PodDisruptionBudget
// and an HPA; a public LoadBalancer Service at the static IP carrying REST (443)
// gRPC (8443) and the TLS join endpoint (8444) — TLS terminates in the manager, so the load balancer is a
// TCP passthrough — plus a ClusterIP Service for in-cluster callers; a Secret
// with the region's intermediate CA and the manager's server certificate; a
// ConfigMap with the region's settings.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ConfigError } from "../common.js";
import type { LoadBalancerBinding } from "./index.js";
import { MANAGER_SERVICE_ACCOUNT } from "./identity.js";

/** Ports the manager's public Service exposes (coordinators dial grpc and join). */
export const MANAGER_PORTS = { rest: 443, grpc: 8443, join: 8444 } as const;

/** The manager process's ports (the runtime's defaults: REST 8080, mutual-TLS gRPC 50051, TLS join 50052). */
export const MANAGER_CONTAINER_PORTS = { rest: 8080, grpc: 50051, join: 50052, metrics: 9090 } as const;

/** The manager container's command (the image's entrypoint is `framefleet`); configuration, until the images issue fixes it. */
export const DEFAULT_MANAGER_ARGS = ["manager", "--config", "/etc/framefleet/manager.json"];

export interface ManagerDeploymentArgs {
  namespace?: string;
  image: string;
  replicas?: number;
  binding: pulumi.Input<LoadBalancerBinding>;
  /** the region's intermediate CA: signs coordinator and task certificates */
  ca: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string>; chainPem: pulumi.Input<string> };
  /** the manager's TLS server certificate for its static IP and DNS name */
  server: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string>; chainPem: pulumi.Input<string> };
  databaseUrl: pulumi.Input<string>;
  /** a join token the manager accepts from this region's hosts (it stores only its hash) */
  bootstrapJoinToken?: pulumi.Input<string>;
  /** region settings (pools and their distribution, buckets, mirror) as JSON */
  settings: pulumi.Input<Record<string, unknown>>;
  resources?: { cpu: string; memory: string };
  autoscaling?: { minReplicas?: number; maxReplicas?: number; targetCpuPercent?: number };
  /** the container's arguments (default DEFAULT_MANAGER_ARGS) */
  args?: string[];
  /** annotations binding the service account to the manager's cloud identity (workload identity) */
  serviceAccountAnnotations?: pulumi.Input<Record<string, string>>;
  /** extra pod labels (e.g. azure.workload.identity/use) */
  podLabels?: Record<string, string>;
  /** CIDRs allowed to reach the public Service (default: anywhere; coordinators dial in from NAT addresses) */
  sourceRanges?: string[];
}

export interface ValidDeploymentOptions {
  namespace: string;
  replicas: number;
  minReplicas: number;
  maxReplicas: number;
  targetCpuPercent: number;
  resources: { cpu: string; memory: string };
}

export function validateDeploymentOptions(
  a: Pick<ManagerDeploymentArgs, "namespace" | "replicas" | "autoscaling" | "resources" | "image">,
  key = "framefleet:manager",
): ValidDeploymentOptions {
  if (!a.image) throw new ConfigError(`${key}.image`, "the manager image is required");
  const replicas = a.replicas ?? 2;
  if (!Number.isInteger(replicas) || replicas < 2)
    throw new ConfigError(`${key}.replicas`, "at least 2 replicas are required for availability");
  const minReplicas = a.autoscaling?.minReplicas ?? replicas;
  const maxReplicas = a.autoscaling?.maxReplicas ?? Math.max(replicas * 3, 6);
  if (minReplicas < 2 || maxReplicas < minReplicas) throw new ConfigError(`${key}.autoscaling`, "need 2 <= minReplicas <= maxReplicas");
  const targetCpuPercent = a.autoscaling?.targetCpuPercent ?? 70;
  if (targetCpuPercent < 10 || targetCpuPercent > 95)
    throw new ConfigError(`${key}.autoscaling.targetCpuPercent`, "must be between 10 and 95");
  const namespace = a.namespace ?? "framefleet";
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace))
    throw new ConfigError(`${key}.namespace`, `"${namespace}" is not a Kubernetes namespace name`);
  return { namespace, replicas, minReplicas, maxReplicas, targetCpuPercent, resources: a.resources ?? { cpu: "1", memory: "1Gi" } };
}

export class ManagerDeployment extends pulumi.ComponentResource {
  readonly serviceName: pulumi.Output<string>;
  readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: ManagerDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    const v = validateDeploymentOptions(args);
    super("framefleet:manager:ManagerDeployment", name, {}, opts);
    const o = { parent: this };
    const labels = {
      "app.kubernetes.io/name": "framefleet-manager",
      "app.kubernetes.io/instance": name,
      "app.kubernetes.io/part-of": "framefleet",
    };

    const ns = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: v.namespace,
          labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted" },
        },
      },
      o,
    );
    const namespace = ns.metadata.name;
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: { name: MANAGER_SERVICE_ACCOUNT, namespace, labels, annotations: args.serviceAccountAnnotations ?? {} },
        automountServiceAccountToken: false,
      },
      o,
    );

    const tls = new k8s.core.v1.Secret(
      `${name}-tls`,
      {
        metadata: { name: "framefleet-manager-tls", namespace, labels },
        type: "Opaque",
        stringData: {
          "ca.crt": args.ca.certPem,
          "ca.key": pulumi.secret(args.ca.keyPem),
          "ca-chain.crt": args.ca.chainPem,
          "tls.crt": args.server.chainPem,
          "tls.key": pulumi.secret(args.server.keyPem),
        },
      },
      o,
    );
    const db = new k8s.core.v1.Secret(
      `${name}-db`,
      {
        metadata: { name: "framefleet-manager-db", namespace, labels },
        type: "Opaque",
        stringData: {
          DATABASE_URL: pulumi.secret(args.databaseUrl),
          ...(args.bootstrapJoinToken ? { JOIN_TOKEN: pulumi.secret(args.bootstrapJoinToken) } : {}),
        },
      },
      o,
    );
    const cfg = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: "framefleet-manager", namespace, labels },
        data: { "manager.json": pulumi.output(args.settings).apply((s) => JSON.stringify(s, null, 2)) },
      },
      o,
    );

    const probe = (path: string, initialDelaySeconds: number) => ({
      httpGet: { path, port: "rest", scheme: "HTTPS" },
      initialDelaySeconds,
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    });
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: "framefleet-manager", namespace, labels },
        spec: {
          replicas: v.replicas,
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels: { ...labels, ...args.podLabels } },
            spec: {
              serviceAccountName: sa.metadata.name,
              automountServiceAccountToken: false,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 10001,
                runAsGroup: 10001,
                fsGroup: 10001,
                seccompProfile: { type: "RuntimeDefault" },
              },
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: "topology.kubernetes.io/zone",
                  whenUnsatisfiable: "ScheduleAnyway",
                  labelSelector: { matchLabels: labels },
                },
              ],
              containers: [
                {
                  name: "manager",
                  image: args.image,
                  args: args.args ?? DEFAULT_MANAGER_ARGS,
                  ports: [
                    { name: "rest", containerPort: MANAGER_CONTAINER_PORTS.rest },
                    { name: "grpc", containerPort: MANAGER_CONTAINER_PORTS.grpc },
                    { name: "join", containerPort: MANAGER_CONTAINER_PORTS.join },
                    { name: "metrics", containerPort: MANAGER_CONTAINER_PORTS.metrics },
                  ],
                  env: [
                    { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: db.metadata.name, key: "DATABASE_URL" } } },
                    { name: "FRAMEFLEET_TLS_DIR", value: "/etc/framefleet/tls" },
                    ...(args.bootstrapJoinToken
                      ? [
                          {
                            name: "FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN",
                            valueFrom: { secretKeyRef: { name: db.metadata.name, key: "JOIN_TOKEN" } },
                          },
                        ]
                      : []),
                  ],
                  readinessProbe: probe("/readyz", 5),
                  livenessProbe: probe("/healthz", 15),
                  startupProbe: { ...probe("/healthz", 0), failureThreshold: 30 },
                  resources: { requests: v.resources, limits: v.resources },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  volumeMounts: [
                    { name: "config", mountPath: "/etc/framefleet", readOnly: true },
                    { name: "tls", mountPath: "/etc/framefleet/tls", readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "config", configMap: { name: cfg.metadata.name } },
                { name: "tls", secret: { secretName: tls.metadata.name, defaultMode: 0o400 } },
                { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
              ],
            },
          },
        },
      },
      o,
    );

    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      { metadata: { name: "framefleet-manager", namespace, labels }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
      o,
    );
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-hpa`,
      {
        metadata: { name: "framefleet-manager", namespace, labels },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
          minReplicas: v.minReplicas,
          maxReplicas: v.maxReplicas,
          metrics: [
            { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: v.targetCpuPercent } } },
          ],
        },
      },
      o,
    );

    const binding = pulumi.output(args.binding);
    const ports = [
      { name: "rest", port: MANAGER_PORTS.rest, targetPort: "rest", protocol: "TCP" },
      { name: "grpc", port: MANAGER_PORTS.grpc, targetPort: "grpc", protocol: "TCP" },
      { name: "join", port: MANAGER_PORTS.join, targetPort: "join", protocol: "TCP" },
    ];
    const publicSvc = new k8s.core.v1.Service(
      `${name}-public`,
      {
        metadata: { name: "framefleet-manager", namespace, labels, annotations: binding.annotations },
        spec: {
          type: "LoadBalancer",
          loadBalancerClass: binding.loadBalancerClass,
          loadBalancerIP: binding.loadBalancerIP,
          externalTrafficPolicy: "Local",
          loadBalancerSourceRanges: args.sourceRanges,
          selector: labels,
          ports,
        },
      },
      o,
    );
    new k8s.core.v1.Service(
      `${name}-internal`,
      {
        metadata: { name: "framefleet-manager-internal", namespace, labels },
        spec: {
          type: "ClusterIP",
          selector: labels,
          ports: [...ports, { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" }],
        },
      },
      o,
    );
    // Only the manager's own ports are reachable; nothing else in the namespace is.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      {
        metadata: { name: "framefleet-manager", namespace, labels },
        spec: {
          podSelector: { matchLabels: labels },
          policyTypes: ["Ingress"],
          ingress: [
            {
              ports: [
                { port: MANAGER_CONTAINER_PORTS.rest },
                { port: MANAGER_CONTAINER_PORTS.grpc },
                { port: MANAGER_CONTAINER_PORTS.join },
                { port: MANAGER_CONTAINER_PORTS.metrics },
              ],
            },
          ],
        },
      },
      o,
    );

    this.serviceName = publicSvc.metadata.name;
    this.namespace = namespace;
    this.registerOutputs({ serviceName: this.serviceName, namespace: this.namespace });
  }
}
