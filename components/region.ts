// Region: one framefleet region on one cloud, composed from the components.
//   network (outbound only) -> registry mirror -> buckets (optional) ->
//   [local manager: cluster + static IP + database -> CA (intermediate, server
//   cert for the static IP) -> ManagerDeployment] -> join-token secret -> pools.
// A remote region (manager.mode "remote") gets no cluster: its hosts dial the
// manager of another region or cloud, whose CA bundle and join token come from
// configuration.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as resources from "@pulumi/azure-native/resources/index.js";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import { type Cloud, baseTags, physicalName } from "./common.js";
import { OutboundOnlyNetwork } from "./network/index.js";
import { RegistryMirror, type UpstreamRegistry } from "./registry/index.js";
import { MediaBuckets, bucketAccessFor, type BucketRole } from "./buckets/index.js";
import { ManagerCluster, ManagerDeployment, MANAGER_PORTS, createManagerIdentity, type DatabaseOptions } from "./manager/index.js";
import { CertificateAuthority, GeneratedSecret } from "./pki/index.js";
import { WorkerPool, type PoolSpec, type PoolDistribution } from "./workers/index.js";
import { createJoinTokenSecret } from "./workers/jointoken.js";

/**
 * The pool bootstrap token, in the form the manager's join port accepts
 * (`ffjt_<12 hex>_<43 base64url>`, runtime/pki/tokens.ts), derived from a
 * GeneratedSecret's random value: deterministic, so it changes only when the
 * secret is regenerated (bump its `generation` to rotate), and 256 bits of
 * secret whatever the value's own encoding. `framefleet manager` registers it
 * as a reusable token from FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN.
 */
export function bootstrapJoinToken(random: string): string {
  const lookupId = createHash("sha256").update(`ffjt-lookup:${random}`).digest("hex").slice(0, 12);
  const secret = createHash("sha256").update(`ffjt-secret:${random}`).digest("base64url");
  return `ffjt_${lookupId}_${secret}`;
}

/**
 * The manager's `fleet` settings (runtime/manager/fleet/select.ts): how its
 * autoscaler reaches the pools' groups, with the manager's own cloud identity.
 * GCP's pools are regional MIGs in the region's project.
 */
export function managerFleetSettings(
  cloud: Cloud,
  region: string,
  azure?: { subscriptionId: string; resourceGroup: string },
  gcpProject?: string,
): Record<string, string> | undefined {
  switch (cloud) {
    case "aws":
      return { provider: "aws", region };
    case "azure":
      return { provider: "azure", subscriptionId: azure!.subscriptionId, resourceGroup: azure!.resourceGroup };
    case "gcp":
      return { provider: "gcp", project: gcpProject!, region };
  }
}

export type ManagerSpec =
  | {
      mode: "local";
      image: string;
      replicas?: number;
      /** DNS name the manager's certificate carries (point it at the static IP) */
      dnsName?: string;
      apiAllowedCidrs: string[];
      kubernetesVersion?: string;
      nodeSize?: string;
      database?: DatabaseOptions;
    }
  | {
      mode: "remote";
      /** host:port of the remote manager's gRPC endpoint */
      endpoint: string;
      /** host:port of its join endpoint (default: endpoint) */
      joinEndpoint?: string;
      /** PEM CA chain that verifies the remote manager */
      caBundlePem: string;
    };

export interface RegionSpec {
  installation: string;
  cloud: Cloud;
  region: string;
  network: { cidr: string; zones?: string[]; natPerZone?: boolean };
  manager: ManagerSpec;
  pools: PoolSpec[];
  images: { coordinator: string; engineCpu: string; engineGpu: string };
  registry: UpstreamRegistry;
  /** create MediaBuckets, or name the customer's own (AWS/GCP: bucket names; Azure: container resource ids) */
  buckets: { create: true; namePrefix: string } | { existing: Record<BucketRole, string>; kmsKeyArns?: string[] };
  gcp?: { project: string };
  azure?: { resourceGroupName?: string; sshPublicKey: string };
  tags?: Record<string, string>;
}

export interface RegionArgs {
  spec: RegionSpec;
  /** the installation's root (from the control-plane stack); absent: this region creates one */
  rootCa?: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
  /** join token hosts present once to enroll; required for a remote manager, generated for a local one when absent */
  joinToken?: pulumi.Input<string>;
}

export class Region extends pulumi.ComponentResource {
  readonly managerEndpoint: pulumi.Output<string>;
  readonly staticIps: pulumi.Output<string[]>;
  readonly egressIps: pulumi.Output<string[]>;
  readonly mirror: pulumi.Output<string>;
  readonly buckets: pulumi.Output<Record<BucketRole, string>>;
  readonly pools: pulumi.Output<PoolDistribution[]>;
  readonly trustPem: pulumi.Output<string>;

  constructor(name: string, args: RegionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("framefleet:region:Region", name, {}, opts);
    const s = args.spec;
    const o = { parent: this };
    const tags = baseTags(s.installation, s.region, s.tags);
    const project = s.gcp?.project;

    let azure: { resourceGroupName: pulumi.Output<string>; resourceGroupId: pulumi.Output<string>; sshPublicKey: string } | undefined;
    if (s.cloud === "azure") {
      const rg = new resources.ResourceGroup(
        `${name}-rg`,
        {
          resourceGroupName: s.azure?.resourceGroupName ?? physicalName("rg-framefleet", s.installation, s.region),
          location: s.region,
          tags,
        },
        o,
      );
      azure = { resourceGroupName: rg.name, resourceGroupId: rg.id, sshPublicKey: s.azure!.sshPublicKey };
    }

    const network = new OutboundOnlyNetwork(
      `${name}-network`,
      {
        cloud: s.cloud,
        region: s.region,
        cidr: s.network.cidr,
        zones: s.network.zones,
        natPerZone: s.network.natPerZone,
        gcpProject: project,
        azureResourceGroupName: azure?.resourceGroupName,
        tags,
      },
      o,
    );
    const registry = new RegistryMirror(
      `${name}-registry`,
      { cloud: s.cloud, region: s.region, upstream: s.registry, gcpProject: project, azure, tags },
      o,
    );

    let bucketNames: Record<BucketRole, pulumi.Output<string>>;
    let kmsKeyArns: pulumi.Input<string>[] = [];
    if ("create" in s.buckets) {
      const b = new MediaBuckets(
        `${name}-buckets`,
        {
          cloud: s.cloud,
          region: s.region,
          namePrefix: s.buckets.namePrefix,
          gcpProject: project,
          azure: azure && { ...azure, allowedSubnetIds: network.refs.workerSubnetIds },
          tags,
        },
        o,
      );
      bucketNames = b.refs.buckets;
      if (s.cloud === "aws") kmsKeyArns = [b.refs.keyId];
    } else {
      const e = s.buckets.existing;
      bucketNames = { input: pulumi.output(e.input), intermediate: pulumi.output(e.intermediate), output: pulumi.output(e.output) };
      kmsKeyArns = s.buckets.kmsKeyArns ?? [];
    }

    // Manager: local (cluster, CA, deployment) or remote (endpoint + CA bundle from configuration).
    let managerEndpoint: pulumi.Output<string>;
    let joinEndpoint: pulumi.Output<string>;
    let caBundlePem: pulumi.Output<string>;
    let staticIps: pulumi.Output<string[]> = pulumi.output([]);
    let joinToken = args.joinToken;
    let deployManager: ((pools: pulumi.Output<PoolDistribution[]>, groupIds: pulumi.Output<string>[]) => void) | undefined;
    let trustPem: pulumi.Output<string>;
    const m = s.manager;
    if (m.mode === "local") {
      const dbPassword = new GeneratedSecret(`${name}-db-password`, { bytes: 24 }, o);
      const cluster = new ManagerCluster(
        `${name}-manager`,
        {
          cloud: s.cloud,
          region: s.region,
          network: network.refs,
          apiAllowedCidrs: m.apiAllowedCidrs,
          kubernetesVersion: m.kubernetesVersion,
          nodeSize: m.nodeSize,
          database: m.database,
          databasePassword: dbPassword.secret,
          gcpProject: project,
          azure,
          tags,
        },
        o,
      );
      staticIps = cluster.staticIps;
      const ca = new CertificateAuthority(
        `${name}-ca`,
        {
          root: args.rootCa ?? { commonName: `${s.installation} framefleet root` },
          region: s.region,
          manager: { dnsNames: m.dnsName ? [m.dnsName] : [], ipAddresses: cluster.staticIps },
        },
        o,
      );
      trustPem = ca.trustPem;
      caBundlePem = ca.intermediate!.chainPem;
      const host = m.dnsName ? pulumi.output(m.dnsName) : cluster.staticIps.apply((ips) => ips[0] ?? "");
      managerEndpoint = pulumi.interpolate`${host}:${MANAGER_PORTS.grpc}`;
      joinEndpoint = pulumi.interpolate`${host}:${MANAGER_PORTS.join}`;
      if (!joinToken) joinToken = new GeneratedSecret(`${name}-join-token`, { bytes: 32 }, o).secret.apply(bootstrapJoinToken);
      const token = joinToken;
      deployManager = (pools, groupIds) => {
        const namespace = "framefleet";
        // the VMSS live in the region's resource group, in the subscription Pulumi deploys to
        const azureFleet = azure
          ? pulumi
              .all([authorization.getClientConfigOutput({ parent: this }).subscriptionId, azure.resourceGroupName])
              .apply(([subscriptionId, resourceGroup]) => ({ subscriptionId, resourceGroup }))
          : pulumi.output(undefined);
        const identity = createManagerIdentity(this, name, {
          cloud: s.cloud,
          region: s.region,
          namespace,
          workload: cluster.refs.workload,
          groupIds,
          buckets: Object.values(bucketNames),
          kmsKeyArns,
          tags,
        });
        const k8sProvider = new k8s.Provider(`${name}-k8s`, { kubeconfig: cluster.kubeconfig, enableServerSideApply: true }, o);
        new ManagerDeployment(
          `${name}-manager`,
          {
            namespace,
            image: m.image,
            replicas: m.replicas,
            serviceAccountAnnotations: identity.serviceAccountAnnotations,
            podLabels: identity.podLabels,
            binding: cluster.refs.binding,
            ca: ca.intermediate!,
            server: ca.managerCert!,
            databaseUrl: cluster.databaseUrl,
            settings: pulumi.all([pools, pulumi.all(bucketNames), registry.mirror, azureFleet]).apply(([poolList, buckets, mirror, az]) => {
              const fleet = managerFleetSettings(s.cloud, s.region, az, project);
              return {
                installation: s.installation,
                cloud: s.cloud,
                region: s.region,
                pools: poolList,
                buckets,
                mirror,
                upstreamRegistry: s.registry.host,
                images: s.images,
                ...(fleet ? { fleet } : {}),
              };
            }),
            bootstrapJoinToken: token,
          },
          { parent: this, providers: { kubernetes: k8sProvider } },
        );
      };
    } else {
      managerEndpoint = pulumi.output(m.endpoint);
      joinEndpoint = pulumi.output(m.joinEndpoint ?? m.endpoint);
      caBundlePem = pulumi.output(m.caBundlePem);
      trustPem = caBundlePem;
    }

    const secret = createJoinTokenSecret(this, name, {
      cloud: s.cloud,
      region: s.region,
      token: joinToken!,
      installation: s.installation,
      gcpProject: project,
      azure,
      tags,
    });

    const poolResources = s.pools.map((pool, i) => {
      const access = bucketAccessFor(pool.kind);
      return new WorkerPool(
        `${name}-${pool.name}`,
        {
          cloud: s.cloud,
          region: s.region,
          pool,
          configKey: `framefleet:pools[${i}]`,
          network: network.refs,
          bootstrap: {
            managerEndpoint,
            joinEndpoint,
            caBundlePem,
            registryMirror: registry.mirror,
            upstreamRegistry: s.registry.host,
            coordinatorImage: s.images.coordinator,
            engineImage: pool.gpu ? s.images.engineGpu : s.images.engineCpu,
            joinToken: secret.source,
          },
          access: {
            readBuckets: access.read.map((r) => bucketNames[r]),
            writeBuckets: access.write.map((r) => bucketNames[r]),
            kmsKeyArns,
            registry: registry.accessScope,
            joinTokenSecret: secret.scope,
          },
          gcpProject: project,
          azure: azure && { resourceGroupName: azure.resourceGroupName, sshPublicKey: azure.sshPublicKey },
          tags,
        },
        o,
      );
    });
    this.pools = pulumi.all(poolResources.map((p) => p.distribution));
    deployManager?.(
      this.pools,
      poolResources.flatMap((p) => p.groupIds),
    );

    this.managerEndpoint = managerEndpoint;
    this.staticIps = staticIps;
    this.egressIps = network.egressIps;
    this.mirror = registry.mirror;
    this.buckets = pulumi.all(bucketNames) as pulumi.Output<Record<BucketRole, string>>;
    this.trustPem = trustPem;
    this.registerOutputs({
      managerEndpoint,
      staticIps,
      egressIps: this.egressIps,
      mirror: this.mirror,
      buckets: this.buckets,
      pools: this.pools,
    });
  }
}
