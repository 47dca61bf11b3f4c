// ManagerCluster on GCP: a regional, VPC-native GKE cluster with private nodes,
// application-layer secrets encryption (Cloud KMS), control-plane logging and
// master authorized networks; a reserved regional address for the manager's
// load balancer; Cloud SQL for PostgreSQL on private service access only.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { gcpAccountId, physicalName } from "../common.js";
import { execKubeconfig, loadBalancerBinding, type ManagerClusterArgs, type ManagerClusterRefs } from "./index.js";

export const GKE_LOG_COMPONENTS = ["SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"];

export function createGcpManagerCluster(parent: pulumi.Resource, name: string, a: ManagerClusterArgs): ManagerClusterRefs {
  const opts = { parent };
  const project = a.gcpProject;
  const net = a.network;
  const projectInfo = gcp.organizations.getProjectOutput({ projectId: project }, { parent });
  const projectId = project ? pulumi.output(project) : projectInfo.apply((p) => p.projectId ?? "");

  const ring = new gcp.kms.KeyRing(`${name}-ring`, { project, location: a.region, name: physicalName("framefleet", name) }, opts);
  const key = new gcp.kms.CryptoKey(
    `${name}-secrets`,
    { keyRing: ring.id, name: "kubernetes-secrets", rotationPeriod: "7776000s", purpose: "ENCRYPT_DECRYPT" },
    opts,
  );
  const keyGrant = new gcp.kms.CryptoKeyIAMMember(
    `${name}-gke-kms`,
    {
      cryptoKeyId: key.id,
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: pulumi.interpolate`serviceAccount:service-${projectInfo.number}@container-engine-robot.iam.gserviceaccount.com`,
    },
    opts,
  );

  const nodeSa = new gcp.serviceaccount.Account(
    `${name}-nodes`,
    { project, accountId: gcpAccountId("ff-mgr-nodes", a.region), displayName: "framefleet manager nodes" },
    opts,
  );
  const nodeRoles = [
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/artifactregistry.reader",
  ];
  nodeRoles.forEach(
    (role) => new gcp.projects.IAMMember(`${name}-nodes-${role.split("/")[1]}`, { project: projectId, role, member: nodeSa.member }, opts),
  );

  const cluster = new gcp.container.Cluster(
    `${name}-gke`,
    {
      project,
      location: a.region,
      network: net.networkId,
      subnetwork: net.managerSubnetIds[0]!,
      networkingMode: "VPC_NATIVE",
      ipAllocationPolicy: { clusterSecondaryRangeName: net.podsRangeName, servicesSecondaryRangeName: net.servicesRangeName },
      removeDefaultNodePool: true,
      initialNodeCount: 1,
      minMasterVersion: a.kubernetesVersion,
      releaseChannel: { channel: "REGULAR" },
      privateClusterConfig: {
        enablePrivateNodes: true,
        enablePrivateEndpoint: a.apiAllowedCidrs.length === 0,
        masterIpv4CidrBlock: "172.16.0.16/28",
      },
      masterAuthorizedNetworksConfig: { cidrBlocks: a.apiAllowedCidrs.map((cidrBlock, i) => ({ cidrBlock, displayName: `allowed-${i}` })) },
      masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
      databaseEncryption: { state: "ENCRYPTED", keyName: key.id },
      loggingConfig: { enableComponents: GKE_LOG_COMPONENTS },
      workloadIdentityConfig: { workloadPool: pulumi.interpolate`${projectId}.svc.id.goog` },
      enableShieldedNodes: true,
      enableLegacyAbac: false,
      deletionProtection: true,
      resourceLabels: { "framefleet-region": a.region },
    },
    { parent, dependsOn: [keyGrant] },
  );
  new gcp.container.NodePool(
    `${name}-system`,
    {
      project,
      location: a.region,
      cluster: cluster.name,
      nodeCount: 1,
      autoscaling: { minNodeCount: 1, maxNodeCount: 3 },
      management: { autoRepair: true, autoUpgrade: true },
      nodeConfig: {
        machineType: a.nodeSize ?? "e2-standard-4",
        diskSizeGb: 100,
        serviceAccount: nodeSa.email,
        oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        metadata: { "disable-legacy-endpoints": "true" },
      },
    },
    opts,
  );

  const address = new gcp.compute.Address(
    `${name}-manager`,
    { project, region: a.region, addressType: "EXTERNAL", networkTier: "PREMIUM", description: "framefleet manager" },
    opts,
  );
  const binding = pulumi
    .all([address.address, address.name])
    .apply(([ip, addressName]) => loadBalancerBinding({ cloud: "gcp", address: ip, addressName }));

  // Cloud SQL on private service access: no public IP, TLS required, PITR backups.
  const peeringRange = new gcp.compute.GlobalAddress(
    `${name}-sql-range`,
    { project, purpose: "VPC_PEERING", addressType: "INTERNAL", prefixLength: 20, network: net.networkId },
    opts,
  );
  const peering = new gcp.servicenetworking.Connection(
    `${name}-sql-peering`,
    { network: net.networkId, service: "servicenetworking.googleapis.com", reservedPeeringRanges: [peeringRange.name] },
    opts,
  );
  const d = a.database ?? {};
  const db = new gcp.sql.DatabaseInstance(
    `${name}-db`,
    {
      project,
      region: a.region,
      databaseVersion: "POSTGRES_16",
      deletionProtection: true,
      settings: {
        tier: d.size ?? "db-custom-2-7680",
        edition: "ENTERPRISE",
        availabilityType: d.highAvailability === false ? "ZONAL" : "REGIONAL",
        diskSize: d.storageGb ?? 100,
        diskAutoresize: true,
        diskType: "PD_SSD",
        ipConfiguration: { ipv4Enabled: false, privateNetwork: net.networkId, sslMode: "ENCRYPTED_ONLY" },
        backupConfiguration: {
          enabled: true,
          pointInTimeRecoveryEnabled: true,
          backupRetentionSettings: { retainedBackups: d.backupRetentionDays ?? 14 },
        },
        databaseFlags: [{ name: "log_min_duration_statement", value: "1000" }],
        userLabels: { "framefleet-region": a.region },
      },
    },
    { parent, dependsOn: [peering] },
  );
  new gcp.sql.Database(`${name}-db`, { project, instance: db.name, name: "framefleet" }, opts);
  new gcp.sql.User(`${name}-db`, { project, instance: db.name, name: "framefleet", password: a.databasePassword }, opts);

  const kubeconfig = pulumi.all([cluster.name, cluster.endpoint, cluster.masterAuth]).apply(([clusterName, endpoint, auth]) =>
    execKubeconfig({
      name: clusterName,
      server: `https://${endpoint}`,
      caData: auth.clusterCaCertificate ?? "",
      command: "gke-gcloud-auth-plugin",
      args: [],
    }),
  );
  return {
    kubeconfig,
    staticIps: [address.address],
    binding,
    database: { host: db.privateIpAddress, port: 5432, name: "framefleet", user: "framefleet" },
    workload: { gcp: { workloadPool: pulumi.interpolate`${projectId}.svc.id.goog`, project: projectId } },
  };
}
