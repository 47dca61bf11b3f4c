import { describe, expect, it } from "vitest";
import { runCases } from "../testing/run-cases.js";
import { identityCases } from "../testing/cases/identity.cases.js";
import { I, iamNoAdminGrants, wildcardFindings } from "./identity.js";
import { res } from "../testing/helpers.js";

runCases(identityCases);

describe("identity helpers and settings", () => {
  it("wildcardFindings ignores Deny statements and unparsable documents", () => {
    expect(wildcardFindings(JSON.stringify({ Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] }))).toEqual([]);
    expect(wildcardFindings("not json")).toEqual([]);
    expect(wildcardFindings({ Statement: { Effect: "Allow", Action: "*", Resource: "*" } })).toHaveLength(1);
  });
  it("iam-no-admin-grants takes the denied GCP roles from config", () => {
    const m = res(I.gcpProjectMember, { role: "roles/compute.admin", member: "x", project: "p" });
    expect(iamNoAdminGrants.check(m)).toEqual([]);
    expect(iamNoAdminGrants.check(m, { gcpDeniedRoles: ["roles/compute.admin"] })).toHaveLength(1);
  });
});
