// docs/policies.md documents every rule the pack ships.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { allRules } from "./rules/index.js";

const doc = readFileSync(new URL("../docs/policies.md", import.meta.url), "utf8");

describe("docs/policies.md", () => {
  for (const r of allRules) {
    it(`documents ${r.name} in its table and in the Checkov comparison`, () => {
      const rows = doc.split("\n").filter((l) => l.startsWith("|") && l.includes(`\`${r.name}\``));
      // one row in its domain table, one in the comparison (grouped rows like `pod-*` count for pod rules)
      const inComparison = doc.split("## Comparison with Checkov")[1]!;
      expect(rows.length, `${r.name} has no table row`).toBeGreaterThanOrEqual(1);
      const mentioned = inComparison.includes(`\`${r.name}\``) || (r.name.startsWith("pod-") && inComparison.includes("`pod-*`"));
      expect(mentioned, `${r.name} missing from the Checkov comparison`).toBe(true);
      const level = r.enforcementLevel === "mandatory" ? "M" : "A";
      expect(
        rows.some((l) => l.split("|")[2]?.trim() === level),
        `${r.name}: the documented level is not ${level}`,
      ).toBe(true);
    });
  }
});
