// Progress of a failover in the update's log: each step as it starts (all it waits for is done) and
// ends (its resource's ID resolved, which the SDK does when the engine finished the step), with the
// seconds since the program started. In a preview IDs of changed resources are unknown and nothing
// is logged here; lib/plan/failoverSteps.ts describes the plan instead.
import * as pulumi from "@pulumi/pulumi";

const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;

export function logStep(step: string, after: pulumi.Resource[], done: pulumi.CustomResource, detail?: pulumi.Output<string | undefined>): void {
  const ids = after.filter((r): r is pulumi.CustomResource => r instanceof pulumi.CustomResource).map((r) => r.id);
  void pulumi.all(ids).apply(() => pulumi.log.info(`failover step "${step}": started at ${elapsed()}`));
  void pulumi.all([done.id, detail]).apply(([, d]) => pulumi.log.info(`failover step "${step}": done at ${elapsed()}${d ? ` (${d})` : ""}`));
}
