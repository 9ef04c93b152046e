// Turns a mocked run's registrations into what @pulumi/policy 1.21.0 hands a policy, the way the
// engine and the policy server build it:
// - validateStack (engine: stepGenerator.AnalyzeResources) gets each resource's *outputs*. For a
//   custom resource that is the mock's state (test/harness/mockState.ts, the same function the run
//   used); for a component it is what the component passed to registerOutputs, as the harness
//   recorded it (`componentProps: "outputs"`, the default); "inputs" gives the constructor props and
//   "none" gives `{}` (a policy must not depend on component props alone).
// - Properties go through the policy SDK's own deserializer: secrets unwrapped for validations,
//   kept as `Secret` instances behind the SDK's proxies for remediations (which get *inputs*).
// - opts: protect, ignoreChanges, deleteBeforeReplace, aliases, customTimeouts,
//   additionalSecretOutputs; the analyzer protocol carries no retainOnDelete.
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as pulumi from "@pulumi/pulumi";
import {
  type PolicyResource,
  type PolicyResourceOptions,
  type ReportViolation,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationArgs,
  type StackValidationPolicy,
} from "@pulumi/policy";
import type { ChildInput, ChildOutput, Registration } from "./types";

interface Deserializer {
  deserializeProperties(props: Struct, proxySecrets: boolean): Record<string, unknown>;
  serializeProperties(props: unknown): Promise<Record<string, unknown>>;
}
// Internal to @pulumi/policy (its typings strip them), but exactly what its server runs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdk = require("@pulumi/policy/deserialize") as Deserializer;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy: <T>(props: T) => T };

const json = (v: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(v ?? {})) as Record<string, unknown>;

/** Deserialized as the policy server does: `proxySecrets` false for validations, true for remediations. */
export function deserialize(wire: unknown, proxySecrets: boolean): Record<string, unknown> {
  const struct = Struct.fromJavaScript(json(wire) as Parameters<typeof Struct.fromJavaScript>[0]);
  return unknownCheckingProxy(sdk.deserializeProperties(struct, proxySecrets));
}

/** A remediation's result as the engine receives it (secrets carry Pulumi's secret marker). */
export function serialize(props: unknown): Promise<Record<string, unknown>> {
  return sdk.serializeProperties(props);
}


function seconds(t: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(t ?? "");
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === "ms" ? n / 1000 : m[2] === "m" ? n * 60 : m[2] === "h" ? n * 3600 : n;
}

function options(r: Registration): PolicyResourceOptions {
  return {
    protect: r.protect,
    ignoreChanges: r.ignoreChanges,
    ...(r.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
    aliases: [],
    customTimeouts: { createSeconds: seconds(r.customTimeouts?.create), updateSeconds: seconds(r.customTimeouts?.update), deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
}

function typeHelpers(type: string, props: Record<string, unknown>) {
  const isType = (cls: unknown) => {
    const c = cls as { __pulumiType?: string; isInstance?: (o: unknown) => boolean };
    return c.__pulumiType !== undefined ? c.__pulumiType === type : c.isInstance?.({ __pulumiType: type }) === true;
  };
  return {
    isType: ((cls: new (...a: never[]) => pulumi.Resource) => isType(cls)) as PolicyResource["isType"],
    asType: ((cls: new (...a: never[]) => pulumi.Resource) => (isType(cls) ? props : undefined)) as PolicyResource["asType"],
    asArgsType: ((cls: new (...a: never[]) => pulumi.Resource) => (isType(cls) ? props : undefined)) as ResourceValidationArgs["asType"],
  };
}

/** What the mocked resource returned: its outputs, as the child recorded them. */
function outputsOf(r: Registration): Record<string, unknown> {
  return (r.state ?? {}) as Record<string, unknown>;
}

export interface StackOptions {
  componentProps?: "outputs" | "inputs" | "none";
  stackTags?: Record<string, string>;
}

/** The PolicyResources of a run, linked by parent and dependencies. */
export function policyResources(run: Pick<ChildOutput, "registrations">, _input: ChildInput, opts: StackOptions = {}): PolicyResource[] {
  const regs = run.registrations;
  const byUrn = new Map<string, PolicyResource>();
  const resources = regs.map((r) => {
    const components = opts.componentProps ?? "outputs";
    const wire = r.custom ? outputsOf(r) : components === "inputs" ? r.inputs : components === "outputs" ? (r.outputs ?? {}) : {};
    const props = deserialize(wire, false);
    const helpers = typeHelpers(r.type, props);
    const resource: PolicyResource = {
      type: r.type, name: r.name, urn: r.urn, props, opts: options(r),
      dependencies: [], propertyDependencies: {},
      isType: helpers.isType, asType: helpers.asType,
    };
    byUrn.set(r.urn, resource);
    return resource;
  });
  regs.forEach((r, i) => {
    const resource = resources[i]!;
    if (r.parent && byUrn.has(r.parent)) resource.parent = byUrn.get(r.parent)!;
    resource.dependencies = r.dependencies.flatMap((d) => (byUrn.has(d) ? [byUrn.get(d)!] : []));
    const providerUrn = r.provider?.split("::").slice(0, -1).join("::");
    const provider = providerUrn ? regs.find((p) => p.urn === providerUrn) : undefined;
    if (provider) resource.provider = { type: provider.type, name: provider.name, urn: provider.urn, props: deserialize(provider.inputs, false) };
  });
  return resources;
}

class NotApplicable extends Error {}

export function stackArgs(resources: PolicyResource[], opts: StackOptions = {}): StackValidationArgs {
  return {
    resources,
    stackTags: new Map(Object.entries(opts.stackTags ?? {})),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

/** The args a remediation gets for one registration: its inputs, secrets kept as `Secret`. */
export function remediationArgs(r: Registration): ResourceValidationArgs {
  const props = deserialize(r.inputs, true);
  const helpers = typeHelpers(r.type, props);
  return {
    type: r.type, name: r.name, urn: r.urn, props, opts: options(r),
    stackTags: new Map(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
    isType: helpers.isType, asType: helpers.asArgsType,
  };
}

export interface Violation {
  policy: string;
  message: string;
  urn?: string | undefined;
}

/** Runs one stack policy and returns what it reported. */
export async function validate(policy: StackValidationPolicy, args: StackValidationArgs): Promise<Violation[]> {
  const out: Violation[] = [];
  const report: ReportViolation = (message, urn) => out.push({ policy: policy.name, message, urn });
  await policy.validateStack(args, report);
  return out;
}

/** Runs one remediation over a registration; undefined when it changes nothing. */
export async function remediate(policy: ResourceValidationPolicy, r: Registration): Promise<Record<string, unknown> | undefined> {
  const result = (await policy.remediateResource?.(remediationArgs(r))) as Record<string, unknown> | undefined;
  return result ? serialize(result) : undefined;
}
