// RegistryMirror on AWS: an ECR pull-through cache rule and a repository creation
// template (immutable tags, KMS encryption, untagged images expire).
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { RegistryMirrorArgs, RegistryMirrorRefs } from "./index.js";

export function createAwsMirror(parent: pulumi.Resource, name: string, args: RegistryMirrorArgs, prefix: string): RegistryMirrorRefs {
  const o = { parent };
  const account = args.awsAccountId ? pulumi.output(args.awsAccountId) : aws.getCallerIdentityOutput({}, o).accountId;
  new aws.ecr.PullThroughCacheRule(
    `${name}-rule`,
    { ecrRepositoryPrefix: prefix, upstreamRegistryUrl: args.upstream.host, credentialArn: args.upstream.credential },
    o,
  );
  new aws.ecr.RepositoryCreationTemplate(
    `${name}-template`,
    {
      prefix,
      appliedFors: ["PULL_THROUGH_CACHE"],
      description: `framefleet mirror of ${args.upstream.host}`,
      imageTagMutability: "IMMUTABLE",
      encryptionConfigurations: [{ encryptionType: "KMS" }],
      lifecyclePolicy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: "expire untagged",
            selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 14 },
            action: { type: "expire" },
          },
        ],
      }),
      resourceTags: args.tags,
    },
    o,
  );
  // mirrored images are scanned on arrival and continuously after (Inspector), so a
  // vulnerable engine image is flagged before a worker pulls it
  new aws.ecr.RegistryScanningConfiguration(
    `${name}-scanning`,
    {
      scanType: "ENHANCED",
      rules: [{ scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: `${prefix}/*`, filterType: "WILDCARD" }] }],
    },
    o,
  );
  return {
    mirror: pulumi.interpolate`${account}.dkr.ecr.${args.region}.amazonaws.com/${prefix}`,
    accessScope: pulumi.interpolate`arn:aws:ecr:${args.region}:${account}:repository/${prefix}/*`,
  };
}
