import * as c from "../../rules/compute.js";
import { T } from "../../rules/network.js";
import { res, type Cases } from "../helpers.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
const goodLt = {
  metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
  blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 100, encrypted: "true" } }],
  userData: b64("#cloud-config\nruncmd:\n  - framefleet-coordinator join --token-secret arn:aws:secretsmanager:eu-west-1:1:secret:join\n"),
};
const vmssProfile = (p: Record<string, unknown>, top: Record<string, unknown> = {}) =>
  res(T.azVmss, { virtualMachineProfile: p, ...top }, "encode-vmss");
const gcpT = (p: Record<string, unknown>) => res(T.gcpRegionInstanceTemplate, p, "encode-standard");
const shielded = { shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true } };
const asg = (dist: Record<string, unknown> | undefined, tags: Record<string, string> = {}) =>
  res(
    T.awsAsg,
    {
      minSize: 0,
      maxSize: 10,
      ...(dist ? { mixedInstancesPolicy: { instancesDistribution: dist, launchTemplate: {} } } : {}),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
    },
    "encode-asg",
  );

export const computeCases: Cases[] = [
  {
    rule: c.imdsv2Required,
    pass: [
      res(T.awsLaunchTemplate, goodLt),
      res(T.awsInstance, { metadataOptions: { httpTokens: "required" } }),
      res(T.awsInstance, { metadataOptions: { httpEndpoint: "disabled" } }),
    ],
    fail: [
      [res(T.awsLaunchTemplate, {}), /httpTokens is null/],
      [res(T.awsLaunchTemplate, { metadataOptions: { httpTokens: "optional" } }), /"optional"/],
      [res(T.awsInstance, { metadataOptions: { httpEndpoint: "enabled" } }), /IMDSv1/],
    ],
  },
  {
    rule: c.diskEncryption,
    pass: [
      res(T.awsLaunchTemplate, goodLt),
      res(T.awsInstance, { rootBlockDevice: { encrypted: true }, ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true }] }),
      res("aws:ebs/volume:Volume", { encrypted: true, size: 10 }),
      vmssProfile({ securityProfile: { encryptionAtHost: true } }),
      vmssProfile({ storageProfile: { osDisk: { managedDisk: { diskEncryptionSet: { id: "des" } } } } }),
      res(T.azVm, { securityProfile: { encryptionAtHost: true } }),
      gcpT({ disks: [{ boot: true }] }),
    ],
    fail: [
      [
        res(T.awsLaunchTemplate, { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }] }),
        /\/dev\/xvda is not encrypted/,
      ],
      [res(T.awsLaunchTemplate, {}), /declares no EBS block device/],
      [res(T.awsInstance, { rootBlockDevice: { volumeSize: 8 } }), /rootBlockDevice/],
      [res("aws:ebs/volume:Volume", { size: 10 }), /encrypted is not true/],
      [vmssProfile({ securityProfile: {} }), /encryptionAtHost/],
    ],
  },
  {
    rule: c.noSecretsInUserData,
    pass: [
      res(T.awsLaunchTemplate, goodLt),
      gcpT({
        metadata: {
          "user-data":
            "#cloud-config\nwrite_files:\n  - path: /etc/framefleet/ca.pem\n    content: |\n      -----BEGIN CERTIFICATE-----\n      MIIB\n      -----END CERTIFICATE-----\n",
        },
      }),
      vmssProfile({ osProfile: { customData: b64("#!/bin/sh\nexport JOIN_TOKEN_SECRET=https://kv.vault.azure.net/secrets/join\n") } }),
      res(T.awsInstance, {
        userData:
          "#cloud-config\nframefleet:\n  token: /run/framefleet/join-token-from-secrets-manager\n  join_token_secret: arn:aws:secretsmanager:eu-west-1:1:secret:join\n",
      }),
    ],
    fail: [
      [
        res(T.awsLaunchTemplate, { userData: b64(`#!/bin/sh\ncat > /etc/key.pem <<EOF\n${PEM}\nEOF\n`) }),
        /userData contains a PEM private key/,
      ],
      [res(T.awsInstance, { userData: "export AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP\n" }), /AWS access key id/],
      [gcpT({ metadataStartupScript: "DB_PASSWORD=hunter2hunter2hunter2hunter2 ./start" }), /password, token or API key/],
      [gcpT({ metadata: { "startup-script": '{"type":"service_account","private_key_id":"abc"}' } }), /GCP service-account key/],
      [
        vmssProfile({
          osProfile: { customData: b64("AZ=DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + "a".repeat(64) + "==") },
        }),
        /storage account key/,
      ],
      [res(T.azVm, { userData: b64(PEM) }), /userData contains a PEM private key/],
      [res(T.awsLaunchTemplate, { userData: b64("#!/bin/bash\nexport FRAMEFLEET_JOIN_TOKEN=plaintext-long-lived-token\n") }), /token/],
    ],
  },
  {
    rule: c.gcpShieldedVm,
    pass: [gcpT(shielded), res(T.gcpInstance, { shieldedInstanceConfig: { enableSecureBoot: true } })],
    fail: [
      [gcpT({}), /no shieldedInstanceConfig/],
      [gcpT({ shieldedInstanceConfig: { enableSecureBoot: false } }), /Secure Boot/],
      [gcpT({ shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: false } }), /vTPM/],
      [gcpT({ shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: false } }), /integrity/],
    ],
  },
  {
    rule: c.gcpInstanceMetadataHardened,
    pass: [gcpT({ metadata: { "block-project-ssh-keys": "true", "enable-oslogin": "TRUE" } }), gcpT({})],
    fail: [
      [gcpT({ metadata: { "serial-port-enable": "TRUE" } }), /serial/],
      [gcpT({ metadata: { "serial-port-enable": "1" } }), /serial/],
      [gcpT({ metadata: { "enable-oslogin": "FALSE" } }), /enable-oslogin/],
      [gcpT({ metadata: { "block-project-ssh-keys": "false" } }), /block-project-ssh-keys/],
    ],
  },
  {
    rule: c.azureSshKeysOnly,
    pass: [
      vmssProfile({
        osProfile: {
          adminUsername: "ff",
          linuxConfiguration: { disablePasswordAuthentication: true, ssh: { publicKeys: [{ keyData: "ssh-ed25519 AAAA" }] } },
        },
      }),
      res(T.azVm, { osProfile: { linuxConfiguration: { disablePasswordAuthentication: true } } }),
    ],
    fail: [
      [
        vmssProfile({
          osProfile: { adminUsername: "ff", adminPassword: "P@ssw0rd!", linuxConfiguration: { disablePasswordAuthentication: false } },
        }),
        /disablePasswordAuthentication/,
      ],
      [vmssProfile({ osProfile: { adminPassword: "x", linuxConfiguration: { disablePasswordAuthentication: true } } }), /adminPassword/],
      [vmssProfile({ osProfile: { windowsConfiguration: {} } }), /Windows/],
    ],
  },
  {
    rule: c.spotOnDemandBase,
    pass: [
      asg({ onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 0 }),
      asg({ onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0 }, { "framefleet:pool-tier": "batch" }),
      asg({ onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 100 }, { "framefleet:pool-tier": "realtime" }),
      asg(undefined),
      vmssProfile({ priority: "Spot" }, { priorityMixPolicy: { baseRegularPriorityCount: 2, regularPriorityPercentageAboveBase: 10 } }),
      vmssProfile({ priority: "Regular" }),
    ],
    fail: [
      [asg({ onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0 }), /needs an on-demand base of 1, the pool has 0/],
      [
        asg({ onDemandBaseCapacity: 2, onDemandPercentageAboveBaseCapacity: 50 }, { "framefleet:pool-tier": "realtime" }),
        /needs 100% on-demand above the base/,
      ],
      [asg({ onDemandBaseCapacity: 1 }, { "framefleet:pool-tier": "gold" }), /tier "gold" has no on-demand requirement/],
      [vmssProfile({ priority: "Spot" }), /the pool has 0/],
    ],
  },
];
