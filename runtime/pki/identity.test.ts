import { describe, expect, it } from "vitest";
import { PkiError } from "./errors.js";
import { formatIdentity, parseIdentity, type Identity } from "./identity.js";

describe("identity URIs", () => {
  const cases: [Identity, string][] = [
    [{ kind: "coordinator", region: "eu-west-1", id: "c_01-AZ" }, "framefleet://eu-west-1/coordinator/c_01-AZ"],
    [{ kind: "task", region: "us", taskId: "t-123", attempt: 3 }, "framefleet://us/task/t-123/3"],
    [{ kind: "manager", region: "local" }, "framefleet://local/manager"],
    [{ kind: "ca", region: "r1" }, "framefleet://r1/ca"],
  ];

  it.each(cases)("round-trips %j", (identity, uri) => {
    expect(formatIdentity(identity)).toBe(uri);
    expect(parseIdentity(uri)).toEqual(identity);
  });

  it("accepts the longest allowed region and ids", () => {
    const identity: Identity = { kind: "task", region: "a".repeat(63), taskId: "T".repeat(64), attempt: 999_999_999 };
    expect(parseIdentity(formatIdentity(identity))).toEqual(identity);
  });

  const malformed: [string, RegExp][] = [
    ["https://eu/manager", /must start with framefleet:\/\//],
    ["FRAMEFLEET://eu/manager", /must start with framefleet:\/\//],
    ["framefleet:eu/manager", /must start with framefleet:\/\//],
    ["framefleet://r/task/../x/1", /"\.\." path segments are not allowed/],
    ["framefleet://r/task/./t1/1", /"\." path segments are not allowed/],
    ["framefleet://r/coordinator/..", /"\.\." path segments are not allowed/],
    ["framefleet://../manager", /"\.\." path segments are not allowed/],
    ["framefleet://r//manager", /empty path segments/],
    ["framefleet://r/task/t..1/1", /task id "t\.\.1" must match/],
    ["framefleet://r/coordinator/a/b", /1 path segment\(s\) after the kind, found 2/],
    ["framefleet://r/coordinator/a%2Fb", /coordinator id "a%2Fb" must match/],
    ["framefleet://r/task/t1/0", /attempt "0" must be a positive integer/],
    ["framefleet://r/task/t1/-1", /attempt "-1" must be a positive integer/],
    ["framefleet://r/task/t1/one", /attempt "one" must be a positive integer/],
    ["framefleet://r/task/t1/01", /attempt "01" must be a positive integer without leading zeros/],
    ["framefleet://r/task/t1/1.5", /attempt "1\.5" must be a positive integer/],
    ["framefleet://r/task/t1", /2 path segment\(s\) after the kind, found 1/],
    ["framefleet://r/worker/w1", /unknown identity kind "worker"/],
    ["framefleet://r", /missing identity kind/],
    ["framefleet://r/manager/", /empty path segments \(\/\/ or a trailing \/\) are not allowed/],
    ["framefleet://r/manager/x", /0 path segment\(s\) after the kind, found 1/],
    ["framefleet://r/manager?x=1", /unknown identity kind "manager\?x=1"/],
    ["framefleet://EU/manager", /region "EU" must match/],
    ["framefleet://eu:443/manager", /region "eu:443" must match/],
    [`framefleet://${"a".repeat(64)}/manager`, /region "a{64}" must match \[a-z0-9-\]\{1,63\}/],
    [`framefleet://r/coordinator/${"x".repeat(65)}`, /coordinator id "x{65}" must match/],
    ["", /must start with framefleet:\/\//],
  ];

  it.each(malformed)("rejects %j", (uri, message) => {
    expect(() => parseIdentity(uri)).toThrow(PkiError);
    expect(() => parseIdentity(uri)).toThrow(message);
  });

  it("refuses to format identities that would not parse back", () => {
    expect(() => formatIdentity({ kind: "task", region: "r", taskId: "t", attempt: 0 })).toThrow(/attempt 0 must be a positive integer/);
    expect(() => formatIdentity({ kind: "task", region: "r", taskId: "t", attempt: 1.5 })).toThrow(PkiError);
    expect(() => formatIdentity({ kind: "coordinator", region: "r", id: "a/b" })).toThrow(/coordinator id "a\/b"/);
    expect(() => formatIdentity({ kind: "manager", region: "Bad Region" })).toThrow(/region "Bad Region"/);
    expect(() => formatIdentity({ kind: "nope", region: "r" } as unknown as Identity)).toThrow(/unknown identity kind "nope"/);
  });
});
