import * as p from "../../rules/pki.js";
import { P } from "../../rules/pki.js";
import { T } from "../../rules/network.js";
import { res, type Cases } from "../helpers.js";

export const PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
export const PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
const MGR = ["framefleet:manager:ManagerDeployment"];
const CA = ["framefleet:pki:CertificateAuthority"];
const DYN = "pulumi-nodejs:dynamic:Resource";

export const pkiCases: Cases[] = [
  {
    rule: p.configMapNoPrivateKeys,
    pass: [res(P.configMap, { data: { "ca.pem": PEM_CERT, "config.yaml": "region: eu" } })],
    fail: [
      [res(P.configMap, { data: { "key.pem": PEM_KEY } }), /data\["key\.pem"\] contains a private key/],
      [res(P.configMap, { binaryData: { "key.b64": Buffer.from(PEM_KEY).toString("base64") } }), /binaryData/],
    ],
  },
  {
    rule: p.mtlsPassthrough,
    pass: [
      res(
        T.k8sService,
        {
          spec: { type: "LoadBalancer", ports: [{ port: 8443 }] },
          metadata: {
            annotations: {
              "service.beta.kubernetes.io/aws-load-balancer-type": "external",
              "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            },
          },
        },
        "manager",
        MGR,
      ),
      res(
        T.k8sService,
        { spec: { type: "LoadBalancer" }, metadata: { annotations: { "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn" } } },
        "docs-site",
      ),
      res(P.awsListener, { protocol: "TCP", port: 8443 }),
      res(P.awsListener, { protocol: "HTTPS", port: 443 }),
      res(P.awsListener, { protocol: "HTTPS", port: 8443, mutualAuthentication: { mode: "passthrough" } }),
    ],
    fail: [
      [
        res(
          T.k8sService,
          {
            spec: { type: "LoadBalancer" },
            metadata: { annotations: { "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:c" } },
          },
          "manager-grpc",
          MGR,
        ),
        /ssl-cert/,
      ],
      [res(P.awsListener, { protocol: "TLS", port: 8443, certificateArn: "c" }), /TLS listener on port 8443/],
    ],
  },
  {
    rule: p.kmsKeyRotation,
    pass: [
      res(P.awsKmsKey, { enableKeyRotation: true }),
      res(P.awsKmsKey, { customerMasterKeySpec: "RSA_4096", keyUsage: "SIGN_VERIFY" }),
      res(P.gcpCryptoKey, { keyRing: "r", rotationPeriod: "7776000s" }),
      res(P.gcpCryptoKey, { keyRing: "r", purpose: "ASYMMETRIC_SIGN" }),
      res(P.azKey, {
        properties: {
          kty: "RSA",
          rotationPolicy: { lifetimeActions: [{ action: { type: "Rotate" }, trigger: { timeAfterCreate: "P90D" } }] },
        },
      }),
    ],
    fail: [
      [res(P.awsKmsKey, {}), /enableKeyRotation/],
      [res(P.awsKmsKey, { enableKeyRotation: true, rotationPeriodInDays: 2000 }), /2000 days/],
      [res(P.gcpCryptoKey, { keyRing: "r" }), /no rotationPeriod/],
      [res(P.gcpCryptoKey, { keyRing: "r", rotationPeriod: "63072000s" }), /730 days/],
      [res(P.azKey, { properties: { kty: "RSA" } }), /Rotate/],
    ],
  },
  {
    rule: p.keyVaultProtected,
    pass: [
      res(P.azVault, {
        properties: { tenantId: "t", sku: { name: "standard", family: "A" }, enablePurgeProtection: true, enableSoftDelete: true },
      }),
    ],
    fail: [
      [res(P.azVault, { properties: { tenantId: "t" } }), /enablePurgeProtection/],
      [res(P.azVault, { properties: { enablePurgeProtection: true, enableSoftDelete: false } }), /enableSoftDelete/],
    ],
  },
  {
    rule: p.caPrivateKeysSecret,
    pass: [
      [
        res(DYN, { rootCertPem: PEM_CERT, rootKeyPem: PEM_KEY, __provider: "exports.handler = function privateKey() {}" }, "root", CA, {
          secretPaths: ["rootKeyPem"],
        }),
      ],
      [
        res(
          P.k8sSecret,
          { type: "kubernetes.io/tls", data: { "tls.key": Buffer.from(PEM_KEY).toString("base64"), "tls.crt": "x" } },
          "intermediate",
          MGR,
        ),
      ],
      [res(P.k8sSecret, { stringData: { "ca.key": PEM_KEY } }, "ca", MGR)],
      [res(DYN, { keys: { intermediate: { privateKeyPem: PEM_KEY } } }, "region-ca", CA, { secretPaths: ["keys"] })],
      [res("aws:kms/alias:Alias", { targetKeyId: "arn:aws:kms:eu-west-1:1:key/abc", name: "alias/ca-key" }, "ca-key")],
    ],
    fail: [
      [[res(DYN, { rootCertPem: PEM_CERT, rootKeyPem: PEM_KEY }, "root", CA)], /"rootKeyPem" holds a private key but is not a secret/],
      [[res(DYN, { caPrivateKey: "MIIEvQ-not-pem" }, "root", CA, { secretPaths: ["rootCert"] })], /caPrivateKey/],
      [[res(P.configMap, { data: { "ca.pem": PEM_CERT, "ca-key.pem": PEM_KEY } }, "ca", MGR)], /data\.ca-key\.pem/],
      [[res("azure-native:keyvault:Secret", { properties: { value: PEM_KEY } }, "kv-secret")], /properties\.value/],
    ],
  },
];
