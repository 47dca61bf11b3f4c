// WorkerPool on GCP: two regional managed instance groups built from a
// STANDARD and a SPOT instance template (Shielded VM, no external IP, GPUs with
// onHostMaintenance TERMINATE) and a service account that may read/write only
// the pool's buckets, pull from the mirror and read the join-token secret.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { gcpAccountId, physicalName } from "../common.js";
import { renderBootstrap } from "./bootstrap.js";
import { bootstrapOutput, gcpGroupBounds, type ValidPoolSpec, type WorkerPoolArgs, type WorkerPoolRefs } from "./index.js";

export const GCP_DEFAULT_IMAGE = "ubuntu-os-cloud/ubuntu-2404-lts-amd64";

export type GcpProvisioning = "STANDARD" | "SPOT";

/** Scheduling block of an instance template. Spot hosts are deleted on reclaim; GPU hosts cannot live-migrate. */
export function gcpScheduling(model: GcpProvisioning, gpu: boolean): gcp.types.input.compute.InstanceTemplateScheduling {
  return model === "SPOT"
    ? {
        provisioningModel: "SPOT",
        preemptible: true,
        automaticRestart: false,
        onHostMaintenance: "TERMINATE",
        instanceTerminationAction: "DELETE",
      }
    : { provisioningModel: "STANDARD", preemptible: false, automaticRestart: true, onHostMaintenance: gpu ? "TERMINATE" : "MIGRATE" };
}

/** Split a repository id `projects/P/locations/L/repositories/R` into its parts. */
export function parseArtifactRepositoryId(id: string): { project: string; location: string; repository: string } {
  const m = /^projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)$/.exec(id);
  if (!m) throw new Error(`not an Artifact Registry repository id: ${id}`);
  return { project: m[1]!, location: m[2]!, repository: m[3]! };
}

export function createGcpWorkerPool(parent: pulumi.Resource, name: string, args: WorkerPoolArgs, spec: ValidPoolSpec): WorkerPoolRefs {
  const opts = { parent };
  const project = args.gcpProject;
  const labels = { "framefleet-pool": spec.name, "framefleet-pool-kind": spec.kind };

  const sa = new gcp.serviceaccount.Account(
    `${name}-host`,
    {
      project,
      accountId: gcpAccountId("ff", spec.name, args.region),
      displayName: `framefleet ${spec.name} hosts`,
    },
    opts,
  );
  const member = pulumi.interpolate`serviceAccount:${sa.email}`;
  const a = args.access;
  a.readBuckets.forEach(
    (bucket, i) => new gcp.storage.BucketIAMMember(`${name}-read-${i}`, { bucket, role: "roles/storage.objectViewer", member }, opts),
  );
  a.writeBuckets.forEach(
    (bucket, i) => new gcp.storage.BucketIAMMember(`${name}-write-${i}`, { bucket, role: "roles/storage.objectUser", member }, opts),
  );
  const repo = pulumi.output(a.registry).apply(parseArtifactRepositoryId);
  new gcp.artifactregistry.RepositoryIamMember(
    `${name}-mirror`,
    { project: repo.project, location: repo.location, repository: repo.repository, role: "roles/artifactregistry.reader", member },
    opts,
  );
  new gcp.secretmanager.SecretIamMember(
    `${name}-join`,
    { secretId: a.joinTokenSecret, role: "roles/secretmanager.secretAccessor", member },
    opts,
  );

  const userData = bootstrapOutput(args, spec, renderBootstrap);
  const template = (model: GcpProvisioning) =>
    new gcp.compute.InstanceTemplate(
      `${name}-${model.toLowerCase()}`,
      {
        project,
        region: args.region,
        namePrefix: `${physicalName("ff", spec.name).slice(0, 40)}-${model.toLowerCase()}-`,
        description: `framefleet ${spec.name} ${model}`,
        machineType: spec.instanceTypes[0]!.type,
        disks: [
          {
            boot: true,
            autoDelete: true,
            sourceImage: spec.machineImage ?? GCP_DEFAULT_IMAGE,
            diskSizeGb: spec.diskGb,
            diskType: "pd-balanced",
          },
        ],
        // No accessConfigs: the host has no external IP and leaves through Cloud NAT.
        networkInterfaces: [{ subnetwork: args.network.workerSubnetIds[0]! }],
        guestAccelerators: spec.gpu ? [{ type: spec.gpu.type, count: spec.gpu.count }] : [],
        scheduling: gcpScheduling(model, !!spec.gpu),
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
        serviceAccount: { email: sa.email, scopes: ["cloud-platform"] },
        metadata: { "user-data": userData, "block-project-ssh-keys": "true", "enable-oslogin": "TRUE" },
        tags: [args.network.workerNetworkTag ?? "framefleet-worker"],
        labels: { ...labels, "framefleet-provisioning": model.toLowerCase() },
      },
      { parent, deleteBeforeReplace: false },
    );

  const bounds = gcpGroupBounds(spec);
  const group = (model: GcpProvisioning, tmpl: gcp.compute.InstanceTemplate) =>
    new gcp.compute.RegionInstanceGroupManager(
      `${name}-${model.toLowerCase()}`,
      {
        project,
        region: args.region,
        baseInstanceName: physicalName("ff", spec.name, model === "SPOT" ? "s" : "d").slice(0, 50),
        description: `framefleet ${spec.name} ${model}; max ${model === "SPOT" ? bounds.spot : bounds.standard} of ${spec.maxSize} (base ${spec.onDemandBase}, ${spec.onDemandPercentageAboveBase}% on-demand above base)`,
        versions: [{ name: "primary", instanceTemplate: tmpl.selfLinkUnique }],
        targetSize: 0,
        waitForInstances: false,
        // Spot: any zone with capacity, across all listed machine types; standard: balanced over zones.
        distributionPolicyTargetShape: model === "SPOT" ? "ANY" : "BALANCED",
        instanceFlexibilityPolicy:
          spec.instanceTypes.length > 1
            ? { instanceSelections: spec.instanceTypes.map((t, i) => ({ name: `choice-${i}`, rank: i + 1, machineTypes: [t.type] })) }
            : undefined,
        // Never replace hosts proactively (they may be mid-task); redistribution NONE is required for target shape ANY.
        updatePolicy: {
          type: "OPPORTUNISTIC",
          minimalAction: "REPLACE",
          instanceRedistributionType: "NONE",
          maxSurgeFixed: 0,
          maxUnavailablePercent: 100,
        },
      },
      // The runtime autoscaler owns the target size.
      { parent, ignoreChanges: ["targetSize"] },
    );

  const standard = group("STANDARD", template("STANDARD"));
  const spot = group("SPOT", template("SPOT"));
  return {
    groups: { standard: standard.name, spot: spot.name },
    groupIds: [standard.selfLink, spot.selfLink],
    identity: sa.email,
    userData,
  };
}
