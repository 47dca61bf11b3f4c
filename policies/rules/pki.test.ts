import { describe, expect, it } from "vitest";
import { runCases } from "../testing/run-cases.js";
import { pkiCases } from "../testing/cases/pki.cases.js";
import { kmsKeyRotation, mtlsPassthrough, P } from "./pki.js";
import { res } from "../testing/helpers.js";

runCases(pkiCases);

describe("pki rule settings", () => {
  it("mtls-passthrough checks the configured gRPC ports", () => {
    const l = res(P.awsListener, { protocol: "TLS", port: 9443 });
    expect(mtlsPassthrough.check(l)).toEqual([]);
    expect(mtlsPassthrough.check(l, { mtlsPorts: [9443] })).toHaveLength(1);
  });
  it("kms-key-rotation takes the maximum period from config", () => {
    const k = res(P.gcpCryptoKey, { keyRing: "r", rotationPeriod: "31536000s" });
    expect(kmsKeyRotation.check(k)).toEqual([]);
    expect(kmsKeyRotation.check(k, { maxRotationDays: 90 })).toEqual([expect.stringMatching(/365 days, more than 90/)]);
  });
});
