// One explicit provider per stack, configured from framefleet's own settings,
// so the region in `framefleet:region` is the only place a region is named.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as azure from "@pulumi/azure-native";
import { baseTags, gcpLabels } from "../components/common.js";
import type { RegionSpec } from "../components/region.js";

export function cloudProvider(spec: RegionSpec): pulumi.ProviderResource {
  const tags = baseTags(spec.installation, spec.region, spec.tags);
  switch (spec.cloud) {
    case "aws":
      return new aws.Provider("aws", { region: spec.region as aws.Region, defaultTags: { tags } });
    case "gcp":
      return new gcp.Provider("gcp", { project: spec.gcp!.project, region: spec.region, defaultLabels: gcpLabels(tags) });
    case "azure":
      return new azure.Provider("azure", { location: spec.region });
  }
}
