// ManagerCluster and ManagerDeployment on every cloud, under Pulumi mocks
// (pulumi.runtime.setMocks): every registration is recorded, inputs asserted.
/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk the recorded, untyped resource inputs */
import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { installRecorder, valueOf } from "../../stacks/synth/recorder.js";
import { planAddressSpace, type NetworkRefs } from "../network/index.js";
import {
  ManagerCluster,
  ManagerDeployment,
  MANAGER_SERVICE_ACCOUNT,
  awsManagerPolicy,
  createManagerIdentity,
  loadBalancerBinding,
  validateApiAllowedCidrs,
  validateDeploymentOptions,
  type ManagerClusterArgs,
} from "./index.js";

const o = (s: string) => pulumi.output(s);
class Holder extends pulumi.ComponentResource {
  constructor(name: string) {
    super("test:index:Holder", name, {});
    this.registerOutputs({});
  }
}
function network(cloud: NetworkRefs["cloud"]): NetworkRefs {
  return {
    cloud,
    networkId: o("net-1"),
    workerSubnetIds: [o("w-a")],
    managerSubnetIds: [o("m-a"), o("m-b")],
    databaseSubnetIds: [o("d-a"), o("d-b")],
    publicSubnetIds: cloud === "aws" ? [o("pub-a"), o("pub-b")] : undefined,
    egressIps: [],
    podsRangeName: "pods",
    servicesRangeName: "services",
    plan: planAddressSpace("10.0.0.0/16", 2),
  };
}
const args = (cloud: NetworkRefs["cloud"]): ManagerClusterArgs => ({
  cloud,
  region: cloud === "aws" ? "eu-west-1" : cloud === "gcp" ? "europe-west4" : "westeurope",
  network: network(cloud),
  apiAllowedCidrs: ["198.51.100.0/24"],
  databasePassword: pulumi.secret("pw"),
  gcpProject: "p",
  azure: { resourceGroupName: "rg", resourceGroupId: "/subscriptions/s/resourceGroups/rg" },
});

describe("static IP binding", () => {
  it("uses each cloud's current Service annotation", () => {
    expect(loadBalancerBinding({ cloud: "aws", allocationIds: ["eipalloc-1", "eipalloc-2"], publicSubnetIds: ["s1", "s2"] })).toMatchObject(
      {
        loadBalancerClass: "eks.amazonaws.com/nlb",
        annotations: {
          "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": "eipalloc-1,eipalloc-2",
          "service.beta.kubernetes.io/aws-load-balancer-subnets": "s1,s2",
          "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        },
      },
    );
    expect(() => loadBalancerBinding({ cloud: "aws", allocationIds: ["a"], publicSubnetIds: ["s1", "s2"] })).toThrow();
    expect(loadBalancerBinding({ cloud: "gcp", address: "203.0.113.7", addressName: "mgr" })).toEqual({
      loadBalancerIP: "203.0.113.7",
      annotations: { "cloud.google.com/l4-rbs": "enabled", "networking.gke.io/load-balancer-ip-addresses": "mgr" },
    });
    expect(loadBalancerBinding({ cloud: "azure", publicIpName: "pip", resourceGroupName: "rg" }).annotations).toEqual({
      "service.beta.kubernetes.io/azure-pip-name": "pip",
      "service.beta.kubernetes.io/azure-load-balancer-resource-group": "rg",
    });
  });
  it("validates the API allow-list and deployment options", () => {
    expect(() => validateApiAllowedCidrs(["0.0.0.0/0"])).toThrow(/apiAllowedCidrs\[0\].*whole internet/);
    expect(() => validateApiAllowedCidrs(["nope"])).toThrow(/apiAllowedCidrs\[0\]/);
    expect(() => validateDeploymentOptions({ image: "m", replicas: 1 })).toThrow(/framefleet:manager.replicas/);
    expect(() => validateDeploymentOptions({ image: "" })).toThrow(/framefleet:manager.image/);
  });
});

describe("ManagerCluster on AWS", () => {
  it("EKS with private nodes, encrypted secrets, all logs, restricted endpoint; EIPs; private encrypted RDS", async () => {
    const rec = await installRecorder();
    const c = new ManagerCluster("mgr", args("aws"));
    await valueOf(c.databaseUrl);
    await rec.settle();
    const eks = rec.one("aws:eks/cluster:Cluster").inputs as Record<string, any>;
    expect(eks.vpcConfig).toMatchObject({
      subnetIds: ["m-a", "m-b"],
      endpointPrivateAccess: true,
      endpointPublicAccess: true,
      publicAccessCidrs: ["198.51.100.0/24"],
    });
    expect(eks.encryptionConfig).toMatchObject({ resources: ["secrets"], provider: { keyArn: expect.stringContaining("kms") } });
    expect(eks.enabledClusterLogTypes).toEqual(["api", "audit", "authenticator", "controllerManager", "scheduler"]);
    expect(eks.computeConfig).toMatchObject({ enabled: true });
    expect(rec.ofType("aws:ec2/eip:Eip")).toHaveLength(2);
    const db = rec.one("aws:rds/instance:Instance");
    expect(db.inputs).toMatchObject({
      engine: "postgres",
      storageEncrypted: true,
      publiclyAccessible: false,
      backupRetentionPeriod: 14,
      deletionProtection: true,
    });
    expect(db.secretPaths).toEqual(["password"]);
    expect(rec.one("aws:ec2/securityGroup:SecurityGroup", "-db").inputs.ingress).toEqual([
      expect.objectContaining({ fromPort: 5432, toPort: 5432 }),
    ]);
    expect(await pulumi.isSecret(c.databaseUrl)).toBe(true);
    expect(await pulumi.isSecret(c.kubeconfig)).toBe(true);
    const binding = await valueOf(c.refs.binding);
    expect(binding.annotations["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"]).toBe(
      "eipalloc-mgr-manager-0,eipalloc-mgr-manager-1",
    );
  });
  it("with no allow-list the API endpoint is private only", async () => {
    const rec = await installRecorder();
    new ManagerCluster("mgr", { ...args("aws"), apiAllowedCidrs: [] });
    await rec.settle();
    expect(rec.one("aws:eks/cluster:Cluster").inputs.vpcConfig).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: false });
  });
});

describe("ManagerCluster on GCP", () => {
  it("private GKE with KMS secrets encryption, logging, authorized networks; regional address; private Cloud SQL", async () => {
    const rec = await installRecorder();
    const c = new ManagerCluster("mgr", args("gcp"));
    await rec.settle();
    const gke = rec.one("gcp:container/cluster:Cluster").inputs as Record<string, any>;
    expect(gke.privateClusterConfig).toMatchObject({ enablePrivateNodes: true });
    expect(gke.masterAuthorizedNetworksConfig.cidrBlocks).toEqual([{ cidrBlock: "198.51.100.0/24", displayName: "allowed-0" }]);
    expect(gke.databaseEncryption).toMatchObject({ state: "ENCRYPTED" });
    expect(gke.loggingConfig.enableComponents).toContain("APISERVER");
    expect(gke.ipAllocationPolicy).toEqual({ clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" });
    expect(rec.one("gcp:compute/address:Address").inputs).toMatchObject({ addressType: "EXTERNAL", region: "europe-west4" });
    const sql = rec.one("gcp:sql/databaseInstance:DatabaseInstance").inputs as Record<string, any>;
    expect(sql.settings.ipConfiguration).toMatchObject({ ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" });
    expect(sql.settings.backupConfiguration).toMatchObject({ enabled: true, pointInTimeRecoveryEnabled: true });
    expect(rec.one("gcp:sql/user:User").secretPaths).toEqual(["password"]);
    expect((await valueOf(c.refs.binding)).loadBalancerIP).toMatch(/^203\.0\.113\./);
  });
});

describe("ManagerCluster on Azure", () => {
  it("AKS with Entra RBAC, KMS, logs, authorized IPs, NAT egress; a Static Standard IP; private PostgreSQL", async () => {
    const rec = await installRecorder();
    const c = new ManagerCluster("mgr", args("azure"));
    await rec.settle();
    const aks = rec.one("azure-native:containerservice:ManagedCluster").inputs as Record<string, any>;
    expect(aks.apiServerAccessProfile).toEqual({ authorizedIPRanges: ["198.51.100.0/24"], enablePrivateCluster: false });
    expect(aks.disableLocalAccounts).toBe(true);
    expect(aks.securityProfile.azureKeyVaultKms).toMatchObject({ enabled: true });
    expect(aks.networkProfile.outboundType).toBe("userAssignedNATGateway");
    expect(aks.agentPoolProfiles[0]).toMatchObject({ enableNodePublicIP: false, vnetSubnetID: "m-a" });
    expect(rec.one("azure-native:monitor:DiagnosticSetting").inputs.logs).toHaveLength(5);
    expect(rec.one("azure-native:network:PublicIPAddress").inputs).toMatchObject({
      sku: { name: "Standard" },
      publicIPAllocationMethod: "Static",
    });
    const pg = rec.one("azure-native:dbforpostgresql:Server");
    expect(pg.inputs).toMatchObject({
      network: { publicNetworkAccess: "Disabled", delegatedSubnetResourceId: "d-a" },
      backup: { backupRetentionDays: 14 },
    });
    expect(pg.secretPaths).toEqual(["administratorLoginPassword"]);
    expect((await valueOf(c.refs.binding)).annotations["service.beta.kubernetes.io/azure-load-balancer-resource-group"]).toBe("rg");
  });
});

describe("ManagerDeployment", () => {
  it("runs >= 2 hardened replicas with probes, a PDB, an HPA, and the static IP on the Service", async () => {
    const rec = await installRecorder();
    new ManagerDeployment("mgr", {
      image: "ghcr.io/framefleet/manager:0.1.0",
      binding: loadBalancerBinding({ cloud: "azure", publicIpName: "pip-mgr", resourceGroupName: "rg" }),
      ca: { certPem: "CA", keyPem: pulumi.secret("CAKEY"), chainPem: "CHAIN" },
      server: { certPem: "S", keyPem: pulumi.secret("SKEY"), chainPem: "SCHAIN" },
      databaseUrl: pulumi.secret("postgres://x"),
      settings: { region: "westeurope" },
    });
    await rec.settle();
    const d = rec.one("kubernetes:apps/v1:Deployment").inputs as Record<string, any>;
    expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
    const pod = d.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    const c = pod.containers[0];
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.resources.limits).toEqual({ cpu: "1", memory: "1Gi" });
    expect(rec.one("kubernetes:policy/v1:PodDisruptionBudget").inputs.spec).toMatchObject({ minAvailable: 1 });
    expect(rec.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs.spec).toMatchObject({ minReplicas: 2 });
    const svc = rec.ofType("kubernetes:core/v1:Service").find((s) => s.name === "mgr-public")!.inputs as Record<string, any>;
    expect(svc.spec.type).toBe("LoadBalancer");
    expect(svc.metadata.annotations["service.beta.kubernetes.io/azure-pip-name"]).toBe("pip-mgr");
    expect(svc.spec.ports.map((p: { port: number }) => p.port)).toEqual([443, 8443, 8444]);
    const tls = rec.ofType("kubernetes:core/v1:Secret").find((s) => s.name === "mgr-tls")!;
    expect(tls.secretPaths).toEqual(["stringData"]);
    expect(rec.one("kubernetes:core/v1:ConfigMap").inputs.data).toEqual({
      "manager.json": JSON.stringify({ region: "westeurope" }, null, 2),
    });
    expect(rec.one("kubernetes:core/v1:Namespace").inputs.metadata).toMatchObject({
      labels: { "pod-security.kubernetes.io/enforce": "restricted" },
    });
  });
});

describe("manager workload identity", () => {
  it("AWS: an EKS Pod Identity role that may scale only the pools' groups and use only the region's buckets", async () => {
    const rec = await installRecorder();
    new ManagerDeployment("holder", {
      image: "m",
      binding: { annotations: {} },
      ca: { certPem: "c", keyPem: "k", chainPem: "c" },
      server: { certPem: "c", keyPem: "k", chainPem: "c" },
      databaseUrl: "x",
      settings: {},
    });
    const parent = new Holder("h-aws");
    const id = createManagerIdentity(parent, "r", {
      cloud: "aws",
      region: "eu-west-1",
      namespace: "framefleet",
      workload: { aws: { clusterName: pulumi.output("eks-1") } },
      groupIds: ["arn:aws:autoscaling:eu-west-1:1:autoScalingGroup:u:autoScalingGroupName/pool-a"],
      buckets: ["in", "out"],
    });
    await rec.settle();
    expect(await valueOf(id.serviceAccountAnnotations)).toEqual({});
    expect(rec.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs).toMatchObject({
      clusterName: "eks-1",
      namespace: "framefleet",
      serviceAccount: MANAGER_SERVICE_ACCOUNT,
    });
    const policy = awsManagerPolicy({ groupArns: ["arn:g"], buckets: ["in"], kmsKeyArns: [] }) as {
      Statement: Array<{ Sid: string; Resource: unknown }>;
    };
    expect(policy.Statement.find((s) => s.Sid === "ScalePools")!.Resource).toEqual(["arn:g"]);
    expect(policy.Statement.filter((s) => s.Resource === "*").map((s) => s.Sid)).toEqual(["Describe"]);
    const sa = rec.one("kubernetes:core/v1:ServiceAccount").inputs as Record<string, any>;
    expect(sa.metadata.name).toBe(MANAGER_SERVICE_ACCOUNT);
  });
  it("GCP and Azure: the service account is annotated with the workload identity", async () => {
    const rec = await installRecorder();
    const parent = new Holder("h-gcp-azure");
    const g = createManagerIdentity(parent, "g", {
      cloud: "gcp",
      region: "europe-west4",
      namespace: "framefleet",
      workload: { gcp: { workloadPool: pulumi.output("p.svc.id.goog"), project: pulumi.output("p") } },
      groupIds: [],
      buckets: ["in"],
    });
    const z = createManagerIdentity(parent, "z", {
      cloud: "azure",
      region: "westeurope",
      namespace: "framefleet",
      workload: { azure: { issuerUrl: pulumi.output("https://oidc"), resourceGroupName: "rg", subscriptionId: pulumi.output("sub") } },
      groupIds: ["/subscriptions/sub/vmss/a"],
      buckets: ["/subscriptions/sub/containers/in"],
    });
    expect(await valueOf(g.serviceAccountAnnotations)).toEqual({
      "iam.gke.io/gcp-service-account": "ff-manager-europe-west4@mock-project.iam.gserviceaccount.com",
    });
    expect(await valueOf(z.serviceAccountAnnotations)).toEqual({
      "azure.workload.identity/client-id": "22222222-2222-2222-2222-222222222222",
    });
    expect(z.podLabels).toEqual({ "azure.workload.identity/use": "true" });
    await rec.settle();
    expect(rec.ofType("gcp:serviceaccount/iAMMember:IAMMember").map((m) => m.inputs.member)).toContain(
      "serviceAccount:p.svc.id.goog[framefleet/framefleet-manager]",
    );
    expect(rec.one("azure-native:managedidentity:FederatedIdentityCredential").inputs).toMatchObject({
      subject: "system:serviceaccount:framefleet:framefleet-manager",
      issuer: "https://oidc",
    });
    expect(rec.ofType("azure-native:authorization:RoleAssignment").map((r) => r.inputs.scope)).toEqual([
      "/subscriptions/sub/vmss/a",
      "/subscriptions/sub/containers/in",
    ]);
  });
});
