// Runs the real index.ts once under Pulumi's mocks, in its own process, and prints what it
// registered as JSON. Each run gets a fresh Pulumi runtime; see runProgram.ts for the caller side.
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { readFileSync, writeFileSync } from "node:fs";
import type { ChildInput, ChildOutput, Registration } from "./types";
import { ClusterSim, mockState, SECRET_SIG, SECRET_VALUE, type RequestContext } from "./mockState";

// Input and result go through files: a large result written to stdout right before exit is cut off.
const input = JSON.parse(readFileSync(process.env["TSB_HA_TEST_INPUT_FILE"]!, "utf8")) as ChildInput;
const resultFile = process.env["TSB_HA_TEST_RESULT_FILE"]!;
const registrations: Registration[] = [];
const errors: string[] = [];
const warnings: string[] = [];
const infos: string[] = [];
const clusters = new ClusterSim(input);
/** Set right before the monitor calls newResource (synchronously), so the mock knows read from register. */
let pending: RequestContext = { kind: "register", urn: "" };

// Record the full request the engine would receive (options, dependencies, secret markers kept).
type Req = {
  getType(): string; getName(): string; getParent(): string; getCustom?(): boolean; getProvider(): string;
  getObject?(): { toJavaScript(): unknown }; getProperties?(): { toJavaScript(): unknown };
  getDependenciesList(): string[]; getProtect?(): boolean; getRetainondelete?(): boolean;
  getDeletebeforereplace?(): boolean; getIgnorechangesList?(): string[]; getReplaceonchangesList?(): string[];
  getId?(): string; getImportid?(): string; getAdditionalsecretoutputsList?(): string[];
  getReplacementTrigger?(): { toJavaScript(): unknown } | undefined;
  getCustomtimeouts?(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getAliasesList?(): Array<{ toObject(): unknown }>; getAliasurnsList?(): string[]; getDeletedwith?(): string;
  getReplaceWithList?(): string[]; getHidediffsList?(): string[]; getVersion?(): string; getPlugindownloadurl?(): string;
  getProvidersMap?(): JspbMap<string>; getPropertydependenciesMap?(): JspbMap<{ getUrnsList(): string[] }>;
};
type JspbMap<V> = { forEach(f: (value: V, key: string) => void): void };
const entries = <V>(m: JspbMap<V> | undefined): Array<[string, V]> => {
  const out: Array<[string, V]> = [];
  m?.forEach((v, k) => out.push([k, v]));
  return out;
};
/** With TSB_HA_DUMP_REGISTRATIONS set, the request's other options are kept for the dump (registrationDump.ts). */
const dumping = Boolean(process.env["TSB_HA_DUMP_REGISTRATIONS"]);
const calls: NonNullable<ChildOutput["calls"]> = [];

function moreOptions(req: Req): Record<string, unknown> {
  return {
    aliases: req.getAliasesList?.().map((a) => a.toObject()) ?? [],
    aliasUrns: req.getAliasurnsList?.() ?? [],
    deletedWith: req.getDeletedwith?.() || undefined,
    replaceWith: req.getReplaceWithList?.() ?? [],
    hideDiffs: req.getHidediffsList?.() ?? [],
    version: req.getVersion?.() || undefined,
    pluginDownloadURL: req.getPlugindownloadurl?.() || undefined,
    providers: Object.fromEntries(entries(req.getProvidersMap?.())),
    propertyDependencies: Object.fromEntries(entries(req.getPropertydependenciesMap?.()).map(([k, v]) => [k, v.getUrnsList()])),
  };
}
const proto = MockMonitor.prototype as unknown as Record<string, (req: Req, cb: unknown) => Promise<void>>;
for (const method of ["registerResource", "readResource"] as const) {
  const original = proto[method]!;
  proto[method] = async function (this: unknown, req: Req, cb: unknown) {
    const monitor = this as { newUrn(parent: string, type: string, name: string): string };
    const timeouts = req.getCustomtimeouts?.();
    const urn = monitor.newUrn(req.getParent(), req.getType(), req.getName());
    const serialized = (method === "readResource" ? req.getProperties?.() : req.getObject?.())?.toJavaScript() ?? {};
    pending = { kind: method === "readResource" ? "read" : "register", urn, inputs: serialized };
    registrations.push({
      kind: method === "readResource" ? "read" : "register",
      type: req.getType(),
      name: req.getName(),
      urn,
      parent: req.getParent() || undefined,
      custom: method === "readResource" ? true : (req.getCustom?.() ?? false),
      provider: req.getProvider() || undefined,
      id: req.getId?.() || undefined,
      importId: req.getImportid?.() || undefined,
      inputs: serialized,
      dependencies: req.getDependenciesList(),
      protect: req.getProtect?.() ?? false,
      retainOnDelete: req.getRetainondelete?.() ?? false,
      deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
      ignoreChanges: req.getIgnorechangesList?.() ?? [],
      replaceOnChanges: req.getReplaceonchangesList?.() ?? [],
      additionalSecretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
      replacementTrigger: req.getReplacementTrigger?.()?.toJavaScript(),
      customTimeouts: timeouts ? { create: timeouts.getCreate(), update: timeouts.getUpdate() } : undefined,
      ...(dumping ? { moreOptions: moreOptions(req) } : {}),
    });
    return original.call(this, req, cb);
  };
}

// Component outputs (what registerOutputs sent): stack policies see these, not the inputs.
const originalOutputs = proto["registerResourceOutputs"]!;
proto["registerResourceOutputs"] = function (this: unknown, req: Req, cb: unknown) {
  const r = req as unknown as { getUrn(): string; getOutputs(): { toJavaScript(): unknown } | undefined };
  const target = registrations.find((x) => x.urn === r.getUrn() && x.kind === "register");
  if (target) target.outputs = r.getOutputs()?.toJavaScript() ?? {};
  return originalOutputs.call(this, req, cb);
};

const origWarn = pulumi.log.warn;
pulumi.log.warn = (msg: string, ...rest: unknown[]) => {
  warnings.push(msg);
  return (origWarn as (...a: unknown[]) => Promise<void>)(msg, ...rest);
};
const origInfo = pulumi.log.info;
pulumi.log.info = (msg: string, ...rest: unknown[]) => {
  infos.push(msg);
  return (origInfo as (...a: unknown[]) => Promise<void>)(msg, ...rest);
};
process.on("unhandledRejection", (e) => {
  // One failed step rejects every promise that waits for it: the engine reports it once.
  const message = e instanceof Error ? e.message : String(e);
  if (!errors.includes(message)) errors.push(message);
});

if (input.dieBeforeResult === "exit") {
  process.stderr.write("child: exiting on purpose before the result\n");
  process.exit(7);
}
if (input.dieBeforeResult === "throw") {
  // An error outside every handler: Node prints it and exits with code 1.
  setTimeout(() => { throw new Error("child: thrown on purpose outside any handler"); }, 0);
}

/**
 * A provider that failed a step (mockState threw, as the provider's create or read would): the engine
 * reports its error and the update fails; what waits for that resource is never registered, so its
 * outputs never settle. Resolves once one failed.
 */
let stepFailed: () => void = () => undefined;
const aStepFailed = new Promise<void>((resolve) => { stepFailed = resolve; });

async function run(): Promise<ChildOutput> {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const request = pending;
        let result: ReturnType<typeof mockState>;
        try {
          result = mockState(args, input, clusters, request);
        } catch (e) {
          // The SDK rejects the registration with "failed to register new resource <name> [<type>]: <message>".
          stepFailed();
          throw e;
        }
        const target = [...registrations].reverse().find((x) => x.urn === request.urn && x.kind === request.kind);
        // The engine marks the outputs named in additionalSecretOutputs secret (pulumi/pulumi
        // pkg/resource/deploy/step_executor.go, additionalSecretOutputs; @pulumi/random's RandomPassword
        // lists `result`); the SDK's MockMonitor does not, so do it here.
        for (const key of target?.additionalSecretOutputs ?? []) {
          if (key in result.state) result.state[key] = { [SECRET_SIG]: SECRET_VALUE, value: result.state[key] };
        }
        if (target) target.state = result.state;
        if (target && request.imported) target.imported = request.imported;
        return result;
      },
      call: (args) => {
        if (dumping) calls.push({ token: args.token, provider: args.provider, inputs: args.inputs });
        throw new Error(`unexpected call ${args.token}: the program must not invoke provider functions`);
      },
    },
    "tsb-ha",
    input.stack ?? "prod",
    input.preview ?? false,
    "organization",
  );
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.config)) config[`tsb-ha:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(config, (input.secretKeys ?? []).map((k) => `tsb-ha:${k}`));

  let outputs: ChildOutput["outputs"];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../../index") as Promise<Record<string, unknown>>;
    const exported = await program;
    outputs = {};
    for (const [k, v] of Object.entries(exported)) {
      const out: pulumi.Output<unknown> = pulumi.output(v);
      // `promise()` is the SDK's own (internal) way to await an Output; it rejects when a step failed.
      // An output that waits for a failed step never settles: give up on it once the rest had time.
      const settle = (out as unknown as { promise(): Promise<unknown> }).promise();
      const abandoned = aStepFailed.then(() => new Promise<never>((_, reject) => setTimeout(() => reject(new Error("a step it waits for failed")), 500)));
      try {
        outputs[k] = { value: await Promise.race([settle, abandoned]), secret: await pulumi.isSecret(out) };
      } catch (e) {
        outputs[k] = { value: undefined, secret: false, failed: e instanceof Error ? e.message : String(e) };
      }
    }
  } catch (e) {
    errors.push(e instanceof Error ? e.message : String(e));
  }
  // Let every registration started by the program finish (or fail) before reporting.
  await new Promise((r) => setTimeout(r, 50));
  clusters.settle();
  const result: ChildOutput = { registrations, errors, warnings, infos, clustersAfter: clusters.objects };
  if (outputs) result.outputs = outputs;
  if (dumping) result.calls = calls;
  return result;
}

if (!input.dieBeforeResult) run().then(
  (r) => {
    writeFileSync(resultFile, JSON.stringify(r));
    process.exit(0);
  },
  (e: unknown) => {
    clusters.settle();
    writeFileSync(resultFile, JSON.stringify({ registrations, errors: [...errors, String(e)], warnings, infos, clustersAfter: clusters.objects, ...(dumping ? { calls } : {}) }));
    process.exit(0);
  },
);
