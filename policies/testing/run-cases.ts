import { describe, expect, it } from "vitest";
import { isStackCases, type Cases } from "./helpers.js";

/** One describe block per rule: every passing case yields no message, every failing case at least one matching message. */
export function runCases(all: Cases[]): void {
  for (const c of all) {
    describe(c.rule.name, () => {
      if (isStackCases(c)) {
        c.pass.forEach((rs, i) =>
          it(`passes stack #${i}`, () => {
            expect(c.rule.checkStack(rs)).toEqual([]);
          }),
        );
        c.fail.forEach(([rs, re], i) =>
          it(`fails stack #${i} (${re.source})`, () => {
            const vs = c.rule.checkStack(rs);
            expect(vs.length).toBeGreaterThan(0);
            expect(vs.map((v) => v.message).join("\n")).toMatch(re);
          }),
        );
      } else {
        c.pass.forEach((r, i) =>
          it(`passes ${r.type.split(":").pop()} "${r.name}" #${i}`, () => {
            expect(c.rule.check(r)).toEqual([]);
          }),
        );
        c.fail.forEach(([r, re], i) =>
          it(`fails ${r.type.split(":").pop()} "${r.name}" #${i} (${re.source})`, () => {
            const msgs = c.rule.check(r);
            expect(msgs.length).toBeGreaterThan(0);
            expect(msgs.join("\n")).toMatch(re);
          }),
        );
      }
    });
  }
}
