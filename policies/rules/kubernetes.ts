// Kubernetes rules: the managed control planes (EKS, GKE, AKS) are not open to
// the world, encrypt Secrets with a customer key and log; nodes are private;
// pods run non-root, read-only, limited, unprivileged and off the host.
import { resourceRule, stackRule, type ResourceView } from "./types.js";
import { RefIndex, get, isFalse, isObj, isTrue, isWorldCidr, label, objs, strs, type Obj } from "./util.js";

export const K = {
  eks: "aws:eks/cluster:Cluster",
  eksNodeGroup: "aws:eks/nodeGroup:NodeGroup",
  gke: "gcp:container/cluster:Cluster",
  gkeNodePool: "gcp:container/nodePool:NodePool",
  aks: "azure-native:containerservice:ManagedCluster",
  aksAgentPool: "azure-native:containerservice:AgentPool",
  azDiagnosticSetting: "azure-native:monitor:DiagnosticSetting",
  pod: "kubernetes:core/v1:Pod",
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  replicaSet: "kubernetes:apps/v1:ReplicaSet",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
} as const;

export const WORKLOAD_TYPES = [K.pod, K.deployment, K.statefulSet, K.daemonSet, K.replicaSet, K.job, K.cronJob] as string[];

/** The pod spec inside any workload kind. */
export function podSpecOf(r: ResourceView): Obj | undefined {
  const path = r.type === K.pod ? "spec" : r.type === K.cronJob ? "spec.jobTemplate.spec.template.spec" : "spec.template.spec";
  const s = get(r.props, path);
  return isObj(s) ? s : undefined;
}

interface ContainerView {
  kind: "container" | "initContainer";
  name: string;
  c: Obj;
  sc: Obj;
}

function containersOf(spec: Obj): ContainerView[] {
  const mk = (kind: ContainerView["kind"]) => (c: Obj) => ({
    kind,
    name: String(c.name ?? "?"),
    c,
    sc: isObj(c.securityContext) ? c.securityContext : {},
  });
  return [...objs(spec.containers).map(mk("container")), ...objs(spec.initContainers).map(mk("initContainer"))];
}

function podRule(
  def: Omit<Parameters<typeof resourceRule>[0], "types" | "check" | "domain" | "clouds" | "defaults"> & {
    checkPod(r: ResourceView, spec: Obj, podSc: Obj, containers: ContainerView[]): string[];
  },
) {
  const { checkPod, ...rest } = def;
  return resourceRule({
    ...rest,
    domain: "kubernetes",
    clouds: ["kubernetes"],
    types: WORKLOAD_TYPES,
    defaults: {},
    check(r) {
      const spec = podSpecOf(r);
      if (!spec) return [];
      return checkPod(r, spec, isObj(spec.securityContext) ? spec.securityContext : {}, containersOf(spec));
    },
  });
}

export const podRunAsNonRoot = podRule({
  name: "pod-run-as-non-root",
  description: "Every container runs as a non-root user (runAsNonRoot: true, or a non-zero runAsUser), on the pod or the container.",
  remediation: "Set spec.securityContext: { runAsNonRoot: true, runAsUser: <uid> } (and build the image with a numeric non-root USER).",
  enforcementLevel: "mandatory",
  severity: "high",
  checkPod(r, _spec, podSc, cs) {
    const out: string[] = [];
    for (const { kind, name, sc } of cs) {
      const user = sc.runAsUser ?? podSc.runAsUser;
      const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      if (user === 0 || user === "0") out.push(`${label(r)}: ${kind} "${name}" runs as UID 0`);
      else if (isFalse(nonRoot)) out.push(`${label(r)}: ${kind} "${name}" sets runAsNonRoot: false`);
      else if (!isTrue(nonRoot) && (user === undefined || user === null))
        out.push(`${label(r)}: ${kind} "${name}" may run as root (no runAsNonRoot, no runAsUser)`);
    }
    return out;
  },
});

export const podReadOnlyRootFs = podRule({
  name: "pod-read-only-root-fs",
  description: "Every container mounts its root filesystem read-only; scratch space comes from explicit emptyDir volumes.",
  remediation: "Set securityContext.readOnlyRootFilesystem: true on each container and mount an emptyDir where the process writes.",
  enforcementLevel: "mandatory",
  severity: "medium",
  checkPod(r, _s, _p, cs) {
    return cs
      .filter((x) => !isTrue(x.sc.readOnlyRootFilesystem))
      .map((x) => `${label(r)}: ${x.kind} "${x.name}" has a writable root filesystem`);
  },
});

export const podResourceLimits = podRule({
  name: "pod-resource-limits",
  description: "Every container declares CPU and memory limits, so one runaway pod cannot starve the manager or its node.",
  remediation: "Set resources.limits.cpu and resources.limits.memory (and requests) on each container.",
  enforcementLevel: "mandatory",
  severity: "medium",
  checkPod(r, _s, _p, cs) {
    const out: string[] = [];
    for (const { kind, name, c } of cs) {
      const limits = get(c, "resources.limits");
      const missing = ["cpu", "memory"].filter((k) => !isObj(limits) || limits[k] === undefined || limits[k] === null || limits[k] === "");
      if (missing.length) out.push(`${label(r)}: ${kind} "${name}" has no ${missing.join(" or ")} limit`);
    }
    return out;
  },
});

const DANGEROUS_CAPS = ["ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "BPF", "PERFMON", "DAC_READ_SEARCH"];

export const podNoPrivileged = podRule({
  name: "pod-no-privileged",
  description:
    "No container is privileged or adds a capability that amounts to root on the node (SYS_ADMIN, NET_ADMIN, SYS_MODULE, ALL, ...).",
  remediation:
    "Remove securityContext.privileged and the added capabilities; GPU access goes through the NVIDIA device plugin, not privilege.",
  enforcementLevel: "mandatory",
  severity: "critical",
  checkPod(r, _s, _p, cs) {
    const out: string[] = [];
    for (const { kind, name, sc } of cs) {
      if (isTrue(sc.privileged)) out.push(`${label(r)}: ${kind} "${name}" is privileged`);
      const added = strs(get(sc, "capabilities.add")).map((x) => x.toUpperCase().replace(/^CAP_/, ""));
      const bad = added.filter((x) => DANGEROUS_CAPS.includes(x));
      if (bad.length) out.push(`${label(r)}: ${kind} "${name}" adds capabilities ${bad.join(", ")}`);
    }
    return out;
  },
});

export const podNoHostAccess = podRule({
  name: "pod-no-host-access",
  description: "Pods do not share the node's network, PID or IPC namespaces, bind host ports, or mount host paths.",
  remediation: "Remove hostNetwork/hostPID/hostIPC, containers[].ports[].hostPort and hostPath volumes; expose the pod through a Service.",
  enforcementLevel: "mandatory",
  severity: "high",
  checkPod(r, spec, _p, cs) {
    const out: string[] = [];
    for (const k of ["hostNetwork", "hostPID", "hostIPC"]) if (isTrue(spec[k])) out.push(`${label(r)}: ${k} is true`);
    for (const { kind, name, c } of cs)
      for (const p of objs(c.ports))
        if (p.hostPort !== undefined && p.hostPort !== null && p.hostPort !== 0)
          out.push(`${label(r)}: ${kind} "${name}" binds hostPort ${String(p.hostPort)}`);
    for (const v of objs(spec.volumes))
      if (isObj(v.hostPath))
        out.push(`${label(r)}: volume "${String(v.name ?? "?")}" mounts host path ${String(get(v, "hostPath.path") ?? "?")}`);
    return out;
  },
});

export const podNoPrivilegeEscalation = podRule({
  name: "pod-no-privilege-escalation",
  description: "Containers cannot gain privileges after start (allowPrivilegeEscalation: false) and drop all Linux capabilities.",
  remediation: 'securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } on each container.',
  enforcementLevel: "advisory",
  severity: "medium",
  checkPod(r, _s, _p, cs) {
    const out: string[] = [];
    for (const { kind, name, sc } of cs) {
      if (!isFalse(sc.allowPrivilegeEscalation)) out.push(`${label(r)}: ${kind} "${name}" does not set allowPrivilegeEscalation: false`);
      if (!strs(get(sc, "capabilities.drop")).some((x) => x.toUpperCase() === "ALL"))
        out.push(`${label(r)}: ${kind} "${name}" does not drop ALL capabilities`);
    }
    return out;
  },
});

export const k8sApiNotPublic = resourceRule({
  name: "k8s-api-not-public",
  description: "Managed Kubernetes API endpoints are private, or public only to an explicit allow-list that does not include 0.0.0.0/0.",
  remediation:
    "EKS: vpcConfig.endpointPrivateAccess: true and endpointPublicAccess: false (or publicAccessCidrs without 0.0.0.0/0). GKE: privateClusterConfig.enablePrivateEndpoint or masterAuthorizedNetworksConfig.cidrBlocks. AKS: apiServerAccessProfile.enablePrivateCluster or authorizedIPRanges.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "kubernetes",
  clouds: ["aws", "gcp", "azure"],
  types: [K.eks, K.gke, K.aks],
  defaults: {},
  check(r) {
    const p = r.props;
    if (r.type === K.eks) {
      const vc = isObj(p.vpcConfig) ? p.vpcConfig : {};
      if (isFalse(vc.endpointPublicAccess)) return [];
      const cidrs = strs(vc.publicAccessCidrs);
      if (cidrs.length === 0)
        return [`${label(r)}: the public API endpoint is on (the default) and open to 0.0.0.0/0 (no publicAccessCidrs)`];
      if (cidrs.some(isWorldCidr)) return [`${label(r)}: publicAccessCidrs includes the whole internet`];
      return [];
    }
    if (r.type === K.gke) {
      if (isTrue(get(p, "privateClusterConfig.enablePrivateEndpoint"))) return [];
      if (isFalse(get(p, "controlPlaneEndpointsConfig.ipEndpointsConfig.enablePublicEndpoint"))) return [];
      if (isFalse(get(p, "controlPlaneEndpointsConfig.ipEndpointsConfig.enabled"))) return [];
      const man = p.masterAuthorizedNetworksConfig;
      if (!isObj(man)) return [`${label(r)}: the public endpoint has no masterAuthorizedNetworksConfig, so any address may reach the API`];
      const out: string[] = [];
      const blocks = objs(man.cidrBlocks).map((b) => b.cidrBlock);
      if (blocks.length === 0) out.push(`${label(r)}: masterAuthorizedNetworksConfig has no cidrBlocks`);
      if (blocks.some(isWorldCidr)) out.push(`${label(r)}: masterAuthorizedNetworksConfig allows 0.0.0.0/0`);
      if (isTrue(man.gcpPublicCidrsAccessEnabled))
        out.push(`${label(r)}: gcpPublicCidrsAccessEnabled lets any Google Cloud address reach the API`);
      return out;
    }
    const ap = isObj(p.apiServerAccessProfile) ? p.apiServerAccessProfile : {};
    if (isTrue(ap.enablePrivateCluster)) return [];
    const ranges = strs(ap.authorizedIPRanges);
    if (ranges.length === 0) return [`${label(r)}: the API server is public with no authorizedIPRanges`];
    if (ranges.some(isWorldCidr)) return [`${label(r)}: authorizedIPRanges includes 0.0.0.0/0`];
    return [];
  },
});

export const k8sSecretsEncryption = resourceRule({
  name: "k8s-secrets-encryption",
  description:
    "Kubernetes Secrets are envelope-encrypted in etcd with a customer-managed key (KMS / Cloud KMS / Key Vault); the region's intermediate CA key lives there.",
  remediation:
    'EKS: encryptionConfig: { resources: ["secrets"], provider: { keyArn } }. GKE: databaseEncryption: { state: "ENCRYPTED", keyName }. AKS: securityProfile.azureKeyVaultKms: { enabled: true, keyId }.',
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "kubernetes",
  clouds: ["aws", "gcp", "azure"],
  types: [K.eks, K.gke, K.aks],
  defaults: {},
  check(r) {
    const p = r.props;
    if (r.type === K.eks) {
      // provider.keyArn is required by the API whenever encryptionConfig is set; it may be an unresolved Output here
      const ok = objs(p.encryptionConfig).some((e) => strs(e.resources).includes("secrets") && isObj(e.provider));
      return ok ? [] : [`${label(r)}: no encryptionConfig for "secrets" with a KMS key`];
    }
    if (r.type === K.gke) {
      const de = p.databaseEncryption;
      const state = isObj(de) ? String(de.state ?? "") : "";
      return ["ENCRYPTED", "ALL_OBJECTS_ENCRYPTION_ENABLED"].includes(state)
        ? []
        : [`${label(r)}: databaseEncryption is not ENCRYPTED with a Cloud KMS key`];
    }
    // keyId is required by the API when KMS is enabled (and is an Output that may not be resolved here)
    return isTrue(get(p, "securityProfile.azureKeyVaultKms.enabled"))
      ? []
      : [`${label(r)}: securityProfile.azureKeyVaultKms is not enabled`];
  },
});

interface LogCfg extends Record<string, unknown> {
  eksLogTypes: string[];
}

export const k8sControlPlaneLogging = resourceRule<LogCfg>({
  name: "k8s-control-plane-logging",
  description:
    "Managed control planes ship their API server, audit and authenticator logs (EKS log types; GKE system-component logging). AKS is covered by aks-audit-logs.",
  remediation:
    'EKS: enabledClusterLogTypes: ["api", "audit", "authenticator", ...]. GKE: keep loggingService on and include SYSTEM_COMPONENTS (and APISERVER) in loggingConfig.enableComponents.',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "kubernetes",
  clouds: ["aws", "gcp"],
  types: [K.eks, K.gke],
  defaults: { eksLogTypes: ["api", "audit", "authenticator"] },
  configSchema: { properties: { eksLogTypes: { type: "array", items: { type: "string" }, default: ["api", "audit", "authenticator"] } } },
  check(r, cfg) {
    const p = r.props;
    if (r.type === K.eks) {
      const have = strs(p.enabledClusterLogTypes);
      const missing = cfg.eksLogTypes.filter((t) => !have.includes(t));
      return missing.length ? [`${label(r)}: enabledClusterLogTypes lacks ${missing.join(", ")}`] : [];
    }
    const out: string[] = [];
    if (p.loggingService === "none") out.push(`${label(r)}: loggingService is "none"`);
    const comps = get(p, "loggingConfig.enableComponents");
    if (comps !== undefined && !strs(comps).includes("SYSTEM_COMPONENTS"))
      out.push(`${label(r)}: loggingConfig.enableComponents lacks SYSTEM_COMPONENTS`);
    return out;
  },
});

export const k8sPrivateNodes = resourceRule({
  name: "k8s-private-nodes",
  description:
    "Cluster nodes have no public IP and no SSH door: GKE private nodes, no AKS node public IPs, no EKS node-group remote access.",
  remediation:
    "GKE: privateClusterConfig.enablePrivateNodes: true. AKS: enableNodePublicIP: false. EKS: remove remoteAccess from the node group (use SSM).",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "kubernetes",
  clouds: ["aws", "gcp", "azure"],
  types: [K.gke, K.gkeNodePool, K.aks, K.aksAgentPool, K.eksNodeGroup],
  defaults: {},
  check(r) {
    const p = r.props;
    switch (r.type) {
      case K.gke:
        if (isTrue(get(p, "privateClusterConfig.enablePrivateNodes"))) return [];
        return [`${label(r)}: privateClusterConfig.enablePrivateNodes is not true`];
      case K.gkeNodePool:
        return isFalse(get(p, "networkConfig.enablePrivateNodes")) ? [`${label(r)}: networkConfig.enablePrivateNodes is false`] : [];
      case K.aks:
        return objs(p.agentPoolProfiles)
          .filter((a) => isTrue(a.enableNodePublicIP))
          .map((a) => `${label(r)}: agent pool "${String(a.name ?? "?")}" gives nodes public IPs`);
      case K.aksAgentPool:
        return isTrue(p.enableNodePublicIP) ? [`${label(r)}: enableNodePublicIP is true`] : [];
      default:
        return isObj(p.remoteAccess) ? [`${label(r)}: remoteAccess opens SSH to the nodes`] : [];
    }
  },
});

export const k8sWorkloadIdentity = resourceRule({
  name: "k8s-workload-identity",
  description:
    "Pods get cloud credentials through workload identity (GKE Workload Identity, AKS workload identity), not the node's identity.",
  remediation:
    'GKE: workloadIdentityConfig: { workloadPool: "<project>.svc.id.goog" }. AKS: oidcIssuerProfile.enabled and securityProfile.workloadIdentity.enabled.',
  enforcementLevel: "advisory",
  severity: "medium",
  domain: "kubernetes",
  clouds: ["gcp", "azure"],
  types: [K.gke, K.aks],
  defaults: {},
  check(r) {
    if (r.type === K.gke) return get(r.props, "workloadIdentityConfig.workloadPool") ? [] : [`${label(r)}: workload identity is off`];
    const ok = isTrue(get(r.props, "oidcIssuerProfile.enabled")) && isTrue(get(r.props, "securityProfile.workloadIdentity.enabled"));
    return ok ? [] : [`${label(r)}: OIDC issuer and workload identity are not both enabled`];
  },
});

const AKS_AUDIT = ["kube-audit", "kube-audit-admin"];

export const aksAuditLogs = stackRule({
  name: "aks-audit-logs",
  description: "Every AKS cluster sends its control-plane audit log (kube-audit or kube-audit-admin) to a diagnostic setting.",
  remediation:
    'Declare azure-native monitor.DiagnosticSetting with resourceUri = the cluster\'s id and logs [{ category: "kube-audit-admin", enabled: true }, { category: "kube-apiserver", enabled: true }] to a Log Analytics workspace.',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "kubernetes",
  clouds: ["azure"],
  defaults: {},
  checkStack(rs) {
    const idx = new RefIndex(rs);
    const settings = idx.ofType(K.azDiagnosticSetting);
    return idx
      .ofType(K.aks)
      .filter(
        (aks) =>
          !settings.some(
            (s) =>
              idx.resolve(s.props.resourceUri, [K.aks])?.urn === aks.urn &&
              objs(s.props.logs).some(
                (l) =>
                  l.enabled !== false && (AKS_AUDIT.includes(String(l.category)) || ["audit", "allLogs"].includes(String(l.categoryGroup))),
              ),
          ),
      )
      .map((aks) => ({ urn: aks.urn, message: `${label(aks)}: no diagnostic setting ships kube-audit logs` }));
  },
});

export const kubernetesRules = [
  k8sApiNotPublic,
  k8sSecretsEncryption,
  k8sControlPlaneLogging,
  k8sPrivateNodes,
  k8sWorkloadIdentity,
  podRunAsNonRoot,
  podReadOnlyRootFs,
  podResourceLimits,
  podNoPrivileged,
  podNoHostAccess,
  podNoPrivilegeEscalation,
  aksAuditLogs,
];
