// Where hosts fetch their join token from: the cloud's secret store, read with
// the host's own identity at boot (see bootstrap.ts renderJoinScript). The
// token value is a Pulumi secret and never appears in user data.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as keyvault from "@pulumi/azure-native/keyvault/index.js";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import { type Cloud, physicalName, unreachable } from "../common.js";
import type { JoinTokenSource } from "./bootstrap.js";

export interface JoinTokenSecretArgs {
  cloud: Cloud;
  region: string;
  token: pulumi.Input<string>;
  installation: string;
  gcpProject?: pulumi.Input<string>;
  azure?: { resourceGroupName: pulumi.Input<string>; tenantId?: pulumi.Input<string> };
  tags?: Record<string, string>;
}

export interface JoinTokenSecretRefs {
  /** what the bootstrap needs to fetch it (Azure: identityClientId is filled in per pool) */
  source: pulumi.Output<JoinTokenSource>;
  /** what a pool's identity is granted read on */
  scope: pulumi.Output<string>;
}

export function createJoinTokenSecret(parent: pulumi.Resource, name: string, a: JoinTokenSecretArgs): JoinTokenSecretRefs {
  const opts = { parent };
  const token = pulumi.secret(a.token);
  switch (a.cloud) {
    case "aws": {
      const s = new aws.secretsmanager.Secret(
        `${name}-join`,
        { namePrefix: `framefleet/${a.installation}/${a.region}/join-token-`, recoveryWindowInDays: 7, tags: a.tags },
        opts,
      );
      new aws.secretsmanager.SecretVersion(`${name}-join`, { secretId: s.id, secretString: token }, opts);
      return { source: s.arn.apply((arn) => ({ kind: "aws-secretsmanager" as const, secretId: arn, region: a.region })), scope: s.arn };
    }
    case "gcp": {
      const s = new gcp.secretmanager.Secret(
        `${name}-join`,
        {
          project: a.gcpProject,
          secretId: physicalName("framefleet", a.installation, a.region, "join"),
          replication: { userManaged: { replicas: [{ location: a.region }] } },
        },
        opts,
      );
      new gcp.secretmanager.SecretVersion(`${name}-join`, { secret: s.id, secretData: token }, opts);
      return { source: s.id.apply((id) => ({ kind: "gcp-secretmanager" as const, secret: id })), scope: s.id };
    }
    case "azure": {
      const az = a.azure!;
      const tenantId = az.tenantId ? pulumi.output(az.tenantId) : authorization.getClientConfigOutput({ parent }).tenantId;
      const vault = new keyvault.Vault(
        `${name}-join`,
        {
          resourceGroupName: az.resourceGroupName,
          location: a.region,
          vaultName: physicalName("ffjoin", a.installation, a.region).replace(/-/g, "").slice(0, 24),
          properties: {
            tenantId,
            sku: { family: "A", name: "standard" },
            enableRbacAuthorization: true,
            enableSoftDelete: true,
            softDeleteRetentionInDays: 7,
            enablePurgeProtection: true,
          },
          tags: a.tags,
        },
        opts,
      );
      const secret = new keyvault.Secret(
        `${name}-join`,
        { resourceGroupName: az.resourceGroupName, vaultName: vault.name, secretName: "join-token", properties: { value: token } },
        opts,
      );
      const uri = vault.properties.apply((p) => `${(p.vaultUri ?? "").replace(/\/$/, "")}/secrets/join-token`);
      return { source: uri.apply((secretUri) => ({ kind: "azure-keyvault" as const, secretUri, identityClientId: "" })), scope: secret.id };
    }
    default:
      return unreachable(a.cloud, "cloud");
  }
}
