import * as k from "../../rules/kubernetes.js";
import { K } from "../../rules/kubernetes.js";
import { res, type Cases } from "../helpers.js";

/** A container as the manager Deployment declares it. */
export const goodContainer = {
  name: "manager",
  image: "registry/framefleet-manager@sha256:abc",
  ports: [{ containerPort: 8443 }],
  resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 10001,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  },
};
export const deployment = (podSpec: Record<string, unknown>, name = "manager") =>
  res(K.deployment, { metadata: { name }, spec: { replicas: 2, template: { metadata: {}, spec: podSpec } } }, name, [
    "framefleet:manager:ManagerDeployment",
  ]);
const withC = (patch: Record<string, unknown>, sc: Record<string, unknown> = {}) =>
  deployment({ containers: [{ ...goodContainer, ...patch, securityContext: { ...goodContainer.securityContext, ...sc } }] });
const cron = (podSpec: Record<string, unknown>) =>
  res(K.cronJob, { spec: { schedule: "@daily", jobTemplate: { spec: { template: { spec: podSpec } } } } }, "vacuum");
const pod = (podSpec: Record<string, unknown>) => res(K.pod, { spec: podSpec }, "debug");

const eks = (p: Record<string, unknown>) =>
  res(
    K.eks,
    { roleArn: "r", vpcConfig: { subnetIds: ["a"], endpointPrivateAccess: true, endpointPublicAccess: false }, ...p },
    "manager-eks",
  );
const gke = (p: Record<string, unknown>) => res(K.gke, p, "manager-gke");
const aks = (p: Record<string, unknown>) => res(K.aks, p, "manager-aks");

export const kubernetesCases: Cases[] = [
  {
    rule: k.podRunAsNonRoot,
    pass: [
      deployment({ containers: [goodContainer] }),
      deployment({ securityContext: { runAsNonRoot: true }, containers: [{ name: "a", securityContext: {} }] }),
      deployment({ containers: [{ name: "a", securityContext: { runAsUser: 1000 } }] }),
      res("kubernetes:core/v1:Service", {}, "not-a-workload"),
    ],
    fail: [
      [withC({}, { runAsUser: 0 }), /UID 0/],
      [deployment({ containers: [{ name: "a" }] }), /may run as root/],
      [
        deployment({ securityContext: { runAsNonRoot: true }, containers: [{ name: "a", securityContext: { runAsNonRoot: false } }] }),
        /runAsNonRoot: false/,
      ],
      [cron({ containers: [{ name: "vacuum" }] }), /container "vacuum" may run as root/],
      [
        deployment({
          securityContext: { runAsNonRoot: true },
          containers: [goodContainer],
          initContainers: [{ name: "init", securityContext: { runAsUser: 0 } }],
        }),
        /initContainer "init" runs as UID 0/,
      ],
    ],
  },
  {
    rule: k.podReadOnlyRootFs,
    pass: [
      deployment({ containers: [goodContainer] }),
      res(K.statefulSet, { spec: { template: { spec: { containers: [goodContainer] } } } }),
    ],
    fail: [
      [withC({}, { readOnlyRootFilesystem: false }), /writable root filesystem/],
      [pod({ containers: [{ name: "shell" }] }), /"shell" has a writable/],
    ],
  },
  {
    rule: k.podResourceLimits,
    pass: [deployment({ containers: [goodContainer] })],
    fail: [
      [withC({ resources: { requests: { cpu: "1" } } }), /no cpu or memory limit/],
      [withC({ resources: { limits: { cpu: "1" } } }), /no memory limit/],
      [res(K.job, { spec: { template: { spec: { containers: [{ name: "migrate" }] } } } }, "migrate"), /"migrate" has no cpu or memory/],
    ],
  },
  {
    rule: k.podNoPrivileged,
    pass: [deployment({ containers: [goodContainer] }), withC({}, { capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } })],
    fail: [
      [withC({}, { privileged: true }), /is privileged/],
      [withC({}, { capabilities: { add: ["SYS_ADMIN", "CAP_NET_ADMIN"] } }), /SYS_ADMIN, NET_ADMIN/],
      [
        res(
          K.daemonSet,
          { spec: { template: { spec: { containers: [{ name: "nvidia", securityContext: { privileged: true } }] } } } },
          "gpu",
        ),
        /"nvidia" is privileged/,
      ],
    ],
  },
  {
    rule: k.podNoHostAccess,
    pass: [deployment({ containers: [goodContainer], volumes: [{ name: "tmp", emptyDir: {} }] })],
    fail: [
      [deployment({ hostNetwork: true, containers: [goodContainer] }), /hostNetwork/],
      [deployment({ hostPID: true, hostIPC: true, containers: [goodContainer] }), /hostPID is true[\s\S]*hostIPC/],
      [withC({ ports: [{ containerPort: 8443, hostPort: 8443 }] }), /hostPort 8443/],
      [
        deployment({ containers: [goodContainer], volumes: [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }] }),
        /docker\.sock/,
      ],
    ],
  },
  {
    rule: k.podNoPrivilegeEscalation,
    pass: [deployment({ containers: [goodContainer] })],
    fail: [
      [withC({}, { allowPrivilegeEscalation: undefined }), /allowPrivilegeEscalation/],
      [withC({}, { capabilities: { drop: ["NET_RAW"] } }), /drop ALL/],
    ],
  },
  {
    rule: k.k8sApiNotPublic,
    pass: [
      eks({}),
      eks({ vpcConfig: { subnetIds: ["a"], endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24"] } }),
      gke({ privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: true } }),
      gke({ masterAuthorizedNetworksConfig: { cidrBlocks: [{ cidrBlock: "10.0.0.0/8", displayName: "vpn" }] } }),
      aks({ apiServerAccessProfile: { enablePrivateCluster: true } }),
      aks({ apiServerAccessProfile: { authorizedIPRanges: ["198.51.100.0/24"] } }),
    ],
    fail: [
      [res(K.eks, { roleArn: "r", vpcConfig: { subnetIds: ["a"] } }, "default-eks"), /open to 0\.0\.0\.0\/0/],
      [eks({ vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] } }), /whole internet/],
      [gke({}), /no masterAuthorizedNetworksConfig/],
      [gke({ masterAuthorizedNetworksConfig: { cidrBlocks: [{ cidrBlock: "0.0.0.0/0" }] } }), /allows 0\.0\.0\.0\/0/],
      [
        gke({ masterAuthorizedNetworksConfig: { cidrBlocks: [{ cidrBlock: "10.0.0.0/8" }], gcpPublicCidrsAccessEnabled: true } }),
        /Google Cloud address/,
      ],
      [aks({}), /no authorizedIPRanges/],
      [aks({ apiServerAccessProfile: { authorizedIPRanges: ["0.0.0.0/0"] } }), /0\.0\.0\.0\/0/],
    ],
  },
  {
    rule: k.k8sSecretsEncryption,
    pass: [
      eks({ encryptionConfig: { resources: ["secrets"], provider: { keyArn: "arn:aws:kms:k" } } }),
      gke({ databaseEncryption: { state: "ENCRYPTED", keyName: "projects/p/locations/l/keyRings/r/cryptoKeys/k" } }),
      aks({ securityProfile: { azureKeyVaultKms: { enabled: true, keyId: "https://kv/keys/k/1" } } }),
    ],
    fail: [
      [eks({}), /no encryptionConfig/],
      [eks({ encryptionConfig: { resources: [], provider: { keyArn: "k" } } }), /no encryptionConfig for "secrets"/],
      [gke({ databaseEncryption: { state: "DECRYPTED" } }), /not ENCRYPTED/],
      [aks({ securityProfile: {} }), /azureKeyVaultKms/],
      [aks({ securityProfile: { azureKeyVaultKms: { enabled: false, keyId: "k" } } }), /azureKeyVaultKms is not enabled/],
    ],
  },
  {
    rule: k.k8sControlPlaneLogging,
    pass: [
      eks({ enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"] }),
      gke({}),
      gke({ loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "APISERVER"] } }),
    ],
    fail: [
      [eks({ enabledClusterLogTypes: ["api"] }), /lacks audit, authenticator/],
      [gke({ loggingService: "none" }), /"none"/],
      [gke({ loggingConfig: { enableComponents: ["WORKLOADS"] } }), /SYSTEM_COMPONENTS/],
    ],
  },
  {
    rule: k.k8sPrivateNodes,
    pass: [
      gke({ privateClusterConfig: { enablePrivateNodes: true } }),
      res(K.gkeNodePool, { nodeConfig: {} }),
      aks({ agentPoolProfiles: [{ name: "system", enableNodePublicIP: false }] }),
      res(K.aksAgentPool, { enableNodePublicIP: false }),
      res(K.eksNodeGroup, { clusterName: "c", subnetIds: [] }),
    ],
    fail: [
      [gke({}), /enablePrivateNodes/],
      [res(K.gkeNodePool, { networkConfig: { enablePrivateNodes: false } }), /enablePrivateNodes is false/],
      [aks({ agentPoolProfiles: [{ name: "system", enableNodePublicIP: true }] }), /agent pool "system"/],
      [res(K.aksAgentPool, { enableNodePublicIP: true }), /enableNodePublicIP/],
      [res(K.eksNodeGroup, { remoteAccess: { ec2SshKey: "k" } }), /remoteAccess/],
    ],
  },
  {
    rule: k.k8sWorkloadIdentity,
    pass: [
      gke({ workloadIdentityConfig: { workloadPool: "p.svc.id.goog" } }),
      aks({ oidcIssuerProfile: { enabled: true }, securityProfile: { workloadIdentity: { enabled: true } } }),
    ],
    fail: [
      [gke({}), /workload identity is off/],
      [aks({ oidcIssuerProfile: { enabled: true } }), /not both enabled/],
    ],
  },
  {
    rule: k.aksAuditLogs,
    pass: [
      [],
      [
        aks({}),
        res(
          K.azDiagnosticSetting,
          { resourceUri: "/subscriptions/0/x/ManagedCluster/manager-aks", logs: [{ category: "kube-audit-admin", enabled: true }] },
          "diag",
        ),
      ],
      [
        aks({}),
        res(
          K.azDiagnosticSetting,
          { resourceUri: "/subscriptions/0/x/ManagedCluster/manager-aks", logs: [{ categoryGroup: "audit", enabled: true }] },
          "diag",
        ),
      ],
    ],
    fail: [
      [[aks({})], /no diagnostic setting/],
      [
        [
          aks({}),
          res(
            K.azDiagnosticSetting,
            { resourceUri: "/subscriptions/0/x/ManagedCluster/manager-aks", logs: [{ category: "kube-apiserver", enabled: true }] },
            "diag",
          ),
        ],
        /kube-audit/,
      ],
      [
        [
          aks({}),
          res(
            K.azDiagnosticSetting,
            { resourceUri: "/subscriptions/0/x/ManagedCluster/other", logs: [{ category: "kube-audit", enabled: true }] },
            "diag",
          ),
        ],
        /kube-audit/,
      ],
    ],
  },
];
