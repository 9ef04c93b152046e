// The tsb-ha policy pack: `pulumi preview --policy-pack policy`. The rules live in policies.ts;
// this file only wraps them. Levels come from the factories' defaults; override one per policy with
// Pulumi's policy config (`--policy-pack-config`), e.g. {"floating-ttl-low": "mandatory"}.
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./policies";

new PolicyPack("tsb-ha", { policies: allPolicies() });
