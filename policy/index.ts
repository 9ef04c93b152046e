// The tsb-ha policy pack: `pulumi preview --policy-pack policy`. The rules live in policies.ts;
// this file only wraps them. Levels come from the factories' defaults; override one per policy with
// Pulumi's policy config (`--policy-pack-config`), e.g. {"floating-ttl-low": "mandatory"}.
//
// How Pulumi loads this folder: the CLI runs @pulumi/pulumi's cmd/run-policy-pack with policy/ as its
// working directory (pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer), which
// registers ts-node (typeCheck on, compiler options from policy/tsconfig.json) and requires `main`
// (@pulumi/pulumi cmd/run-policy-pack/run.js). policies.ts imports names from ../lib/plan/resourceNames.ts
// and ../lib/config/names.ts; ts-node compiles those like any required .ts file, and Node resolves packages
// from policy/node_modules or, when absent, the repository's node_modules. Those two lib files import
// nothing else, so the pack needs no dependency of the program. test/policyPack.test.ts starts the pack
// this way. [guess] `pulumi policy publish` uploads only this folder, so publishing the pack to a
// Pulumi Cloud org would need lib/ copied in first; the README's commands use the local folder.
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./policies";

new PolicyPack("tsb-ha", { policies: allPolicies() });
