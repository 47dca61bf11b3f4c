// Plausible computed outputs for resources and invokes under mocks, so that
// programs which read e.g. an Elastic IP's `publicIp` or a cluster's endpoint
// see a value of the right shape. Nothing here talks to a cloud.

/** Placeholders for outputs of dynamic resources, which do not run under mocks. */
export const MOCK_CERT =
  "-----BEGIN CERTIFICATE-----\nMOCK (synth: certificates are made by the dynamic provider on pulumi up)\n-----END CERTIFICATE-----\n";
export const MOCK_KEY = "-----BEGIN PRIVATE KEY-----\nMOCK\n-----END PRIVATE KEY-----\n";

let counter = 0;
function fakeIp(): string {
  counter = (counter + 1) % 250;
  return `203.0.113.${counter + 1}`;
}

export function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const [pkg = "", mod = ""] = type.split(":");
  const base: Record<string, unknown> = { ...inputs };
  if (pkg === "aws") {
    const svc = mod.split("/")[0] ?? "aws";
    base.id = `${name}-id`;
    base.arn = `arn:aws:${svc}:us-east-1:123456789012:${name}`;
    base.name = inputs.name ?? name;
  }
  if (pkg === "gcp") {
    base.id = `projects/mock-project/${name}`;
    base.selfLink = `https://www.googleapis.com/compute/v1/projects/mock-project/${name}`;
    base.selfLinkUnique = `${base.selfLink}?uniqueId=1`;
    base.name = inputs.name ?? name;
  }
  if (pkg === "azure-native") {
    base.id = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mock-rg/providers/Microsoft.${mod}/${type.split(":")[2]}/${name}`;
    // a blob container's id is nested under its account, as ARM returns it: the manager parses the account from it
    if (type === "azure-native:storage:BlobContainer")
      base.id = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${inputs.resourceGroupName ?? "mock-rg"}/providers/Microsoft.Storage/storageAccounts/${inputs.accountName ?? "mockaccount"}/blobServices/default/containers/${inputs.containerName ?? name}`;
    // azure-native's `name` output is the resource's own `<thing>Name` input when given
    const typeName = type.split(":")[2] ?? "";
    const own = `${typeName.charAt(0).toLowerCase()}${typeName.slice(1)}Name`;
    const keys = [
      own,
      "containerName",
      "secretName",
      "keyName",
      "privateZoneName",
      "cacheRuleName",
      "databaseName",
      "vmScaleSetName",
      "registryName",
      "vaultName",
      "accountName",
    ];
    const found = keys.find((k) => typeof inputs[k] === "string");
    base.name = found ? inputs[found] : (inputs.name ?? name);
  }
  switch (type) {
    case "pulumi:pulumi:StackReference":
      return {
        ...base,
        outputs: { rootCertPem: MOCK_CERT, rootKeyPem: MOCK_KEY, installation: "mock" },
        secretOutputNames: ["rootKeyPem"],
      };
    case "pulumi-nodejs:dynamic/framefleet-pki:Certificate":
      return { ...base, certPem: MOCK_CERT, keyPem: MOCK_KEY, chainPem: MOCK_CERT, notAfter: "2036-01-01T00:00:00.000Z" };
    case "pulumi-nodejs:dynamic/framefleet-pki:GeneratedSecret":
      return { ...base, value: "mock-generated-secret" };
    case "aws:ec2/eip:Eip":
      return { ...base, publicIp: fakeIp(), allocationId: `eipalloc-${name}` };
    case "aws:eks/cluster:Cluster":
      return {
        ...base,
        endpoint: `https://${name}.eks.amazonaws.com`,
        certificateAuthority: { data: "bW9jay1jYQ==" },
        identities: [{ oidcs: [{ issuer: `https://oidc.eks.us-east-1.amazonaws.com/id/${name}` }] }],
      };
    case "aws:rds/instance:Instance":
      return {
        ...base,
        address: `${name}.rds.amazonaws.com`,
        endpoint: `${name}.rds.amazonaws.com:5432`,
        port: 5432,
        masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}` }],
      };
    case "aws:ecr/repository:Repository":
      return { ...base, repositoryUrl: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}` };
    case "gcp:compute/address:Address":
      return { ...base, address: fakeIp() };
    case "gcp:container/cluster:Cluster":
      return { ...base, endpoint: "10.0.0.2", masterAuth: { clusterCaCertificate: "bW9jay1jYQ==" } };
    case "gcp:sql/databaseInstance:DatabaseInstance":
      return { ...base, privateIpAddress: "10.40.200.3", connectionName: `mock-project:region:${name}` };
    case "gcp:serviceaccount/account:Account":
      return {
        ...base,
        email: `${inputs.accountId ?? name}@mock-project.iam.gserviceaccount.com`,
        member: `serviceAccount:${inputs.accountId ?? name}@mock-project.iam.gserviceaccount.com`,
      };
    case "azure-native:network:PublicIPAddress":
      return { ...base, ipAddress: fakeIp() };
    case "azure-native:managedidentity:UserAssignedIdentity":
      return { ...base, principalId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222" };
    case "azure-native:dbforpostgresql:Server":
      return { ...base, fullyQualifiedDomainName: `${name}.postgres.database.azure.com` };
    case "azure-native:containerregistry:Registry":
      return { ...base, loginServer: `${String(inputs.registryName ?? name).replace(/-/g, "")}.azurecr.io` };
    case "azure-native:containerservice:ManagedCluster":
      return {
        ...base,
        nodeResourceGroup: `MC_${name}`,
        fqdn: `${name}.hcp.azmk8s.io`,
        oidcIssuerProfile: { issuerURL: `https://oidc.azure/${name}` },
      };
    case "azure-native:keyvault:Vault":
      return { ...base, properties: { ...(inputs.properties as object), vaultUri: `https://${name}.vault.azure.net/` } };
    default:
      return base;
  }
}

export function fakeInvoke(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/mock", userId: "MOCK", id: "123456789012" };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "azure-native:authorization:getClientConfig":
      return {
        clientId: "c",
        objectId: "33333333-3333-3333-3333-333333333333",
        subscriptionId: "00000000-0000-0000-0000-000000000000",
        tenantId: "44444444-4444-4444-4444-444444444444",
      };
    case "azure-native:containerservice:listManagedClusterUserCredentials":
      return { kubeconfigs: [{ name: "clusterUser", value: Buffer.from("apiVersion: v1\nkind: Config\n").toString("base64") }] };
    case "gcp:organizations/getClientConfig:getClientConfig":
      return { project: "mock-project", region: "us-central1", accessToken: "mock", id: "mock" };
    case "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
      return {
        emailAddress: "service-123456789@gs-project-accounts.iam.gserviceaccount.com",
        member: "serviceAccount:service-123456789@gs-project-accounts.iam.gserviceaccount.com",
        id: "mock",
      };
    case "gcp:organizations/getProject:getProject":
      return { projectId: "mock-project", number: "123456789", name: "mock-project", id: "projects/mock-project" };
    default:
      return inputs;
  }
}
