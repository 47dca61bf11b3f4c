// RegistryMirror on GCP: an Artifact Registry remote repository for the upstream.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../common.js";
import type { RegistryMirrorArgs, RegistryMirrorRefs } from "./index.js";

export function createGcpMirror(parent: pulumi.Resource, name: string, args: RegistryMirrorArgs, prefix: string): RegistryMirrorRefs {
  const repo = new gcp.artifactregistry.Repository(
    `${name}-remote`,
    {
      project: args.gcpProject,
      location: args.region,
      repositoryId: physicalName("framefleet", prefix),
      format: "DOCKER",
      mode: "REMOTE_REPOSITORY",
      description: `framefleet mirror of ${args.upstream.host}`,
      remoteRepositoryConfig: {
        description: args.upstream.host,
        dockerRepository: { customRepository: { uri: `https://${args.upstream.host}` } },
      },
      cleanupPolicies: [{ id: "expire-old", action: "DELETE", condition: { olderThan: "2592000s", tagState: "ANY" } }],
    },
    { parent },
  );
  return {
    mirror: pulumi.interpolate`${args.region}-docker.pkg.dev/${repo.project}/${repo.repositoryId}`,
    accessScope: pulumi.interpolate`projects/${repo.project}/locations/${args.region}/repositories/${repo.repositoryId}`,
  };
}
