// RegistryMirror on every cloud, under Pulumi mocks (pulumi.runtime.setMocks).
import { describe, expect, it } from "vitest";
import { installRecorder, valueOf } from "../../stacks/synth/recorder.js";
import { RegistryMirror, mirrorPrefix } from "./index.js";

const upstream = {
  host: "ghcr.io",
  namespaces: ["framefleet"],
  credential: "arn:aws:secretsmanager:eu-west-1:1:secret:ecr-pullthroughcache/ghcr",
};

describe("RegistryMirror", () => {
  it("validates the upstream, naming the key", () => {
    expect(mirrorPrefix(upstream)).toBe("ghcr");
    expect(() => mirrorPrefix({ host: "https://ghcr.io", namespaces: ["x"] })).toThrow(/framefleet:registry.upstream/);
    expect(() => mirrorPrefix({ host: "ghcr.io", namespaces: [] })).toThrow(/framefleet:registry.namespaces/);
  });
  it("AWS: an ECR pull-through cache rule with a repository creation template", async () => {
    const rec = await installRecorder();
    const m = new RegistryMirror("reg", { cloud: "aws", region: "eu-west-1", upstream });
    const [mirror, scope] = await Promise.all([valueOf(m.mirror), valueOf(m.accessScope)]);
    await rec.settle();
    expect(rec.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule").inputs).toMatchObject({
      ecrRepositoryPrefix: "ghcr",
      upstreamRegistryUrl: "ghcr.io",
      credentialArn: upstream.credential,
    });
    expect(rec.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate").inputs).toMatchObject({
      prefix: "ghcr",
      appliedFors: ["PULL_THROUGH_CACHE"],
      imageTagMutability: "IMMUTABLE",
    });
    expect(mirror).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr");
    expect(scope).toBe("arn:aws:ecr:eu-west-1:123456789012:repository/ghcr/*");
  });
  it("GCP: an Artifact Registry remote repository", async () => {
    const rec = await installRecorder();
    const m = new RegistryMirror("reg", { cloud: "gcp", region: "europe-west4", upstream, gcpProject: "p" });
    const mirror = await valueOf(m.mirror);
    await rec.settle();
    expect(rec.one("gcp:artifactregistry/repository:Repository").inputs).toMatchObject({
      format: "DOCKER",
      mode: "REMOTE_REPOSITORY",
      remoteRepositoryConfig: { dockerRepository: { customRepository: { uri: "https://ghcr.io" } } },
    });
    expect(mirror).toBe("europe-west4-docker.pkg.dev/p/framefleet-ghcr");
  });
  it("Azure: ACR cache rules per namespace", async () => {
    const rec = await installRecorder();
    new RegistryMirror("reg", {
      cloud: "azure",
      region: "westeurope",
      upstream: { ...upstream, namespaces: ["framefleet", "ffmpeg"], credential: undefined },
      azure: { resourceGroupName: "rg" },
    });
    await rec.settle();
    expect(rec.one("azure-native:containerregistry:Registry").inputs).toMatchObject({
      adminUserEnabled: false,
      anonymousPullEnabled: false,
    });
    expect(
      rec.ofType("azure-native:containerregistry:CacheRule").map((r) => [r.inputs.sourceRepository, r.inputs.targetRepository]),
    ).toEqual([
      ["ghcr.io/framefleet/*", "ghcr/framefleet/*"],
      ["ghcr.io/ffmpeg/*", "ghcr/ffmpeg/*"],
    ]);
  });
});
