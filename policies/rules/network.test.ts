import { describe, expect, it } from "vitest";
import { runCases } from "../testing/run-cases.js";
import { networkCases } from "../testing/cases/network.cases.js";
import { noPublicIngress, T } from "./network.js";
import { res } from "../testing/helpers.js";

runCases(networkCases);

describe("no-public-ingress settings", () => {
  const sg = res(
    T.awsSecurityGroup,
    { ingress: [{ protocol: "tcp", fromPort: 9443, toPort: 9443, cidrBlocks: ["0.0.0.0/0"] }] },
    "manager-lb",
    ["framefleet:manager:ManagerCluster"],
  );
  it("refuses a manager port that is not configured", () => {
    expect(noPublicIngress.check(sg)).toHaveLength(1);
  });
  it("accepts it once policy config lists it as a manager port", () => {
    expect(noPublicIngress.check(sg, { managerPorts: [443, 9443] })).toEqual([]);
  });
  it("ignores resources of other types", () => {
    expect(noPublicIngress.check(res("aws:s3/bucket:Bucket", { ingress: [{ cidrBlocks: ["0.0.0.0/0"] }] }))).toEqual([]);
  });
});
