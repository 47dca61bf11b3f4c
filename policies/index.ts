// The framefleet CrossGuard policy pack. This file only builds the pack; the
// rules live in ./rules (one module per domain) and are adapted in ./pack.ts.
//   pulumi preview --policy-pack ./policies [--policy-pack-config policy-config.json]
import { PolicyPack } from "@pulumi/policy";
import { PACK_DESCRIPTION, PACK_NAME, toPolicies } from "./pack.js";

new PolicyPack(PACK_NAME, {
  description: PACK_DESCRIPTION,
  enforcementLevel: "advisory",
  policies: toPolicies(),
  tags: ["security", "framefleet"],
});
