// Runs a Pulumi dynamic provider the way the engine does, so a test exercises the code that really
// runs in an update, not only plain calls on the object.
//
// What the engine does (pulumi/pulumi, sdk/nodejs/dynamic/index.ts and
// sdk/nodejs/cmd/dynamic-provider/index.ts, as shipped in @pulumi/pulumi 3.248.0):
// - the program serializes the provider object with `serializeFunction(() => provider,
//   { allowSecrets: true })` into the resource's `__provider` input;
// - the engine starts a separate process (`pulumi-resource-pulumi-nodejs`) that rebuilds it with
//   `requireFromString(text).handler()`; nothing of the program's process (module state, open sockets,
//   variables that were not captured) exists there;
// - every value crosses the wire as a protobuf Struct (`Struct.fromJavaScript` / `toJavaScript`):
//   `undefined` members vanish, numbers become doubles, Dates and Buffers do not survive;
// - `ConfigureResponse.acceptSecrets` is false: secret inputs arrive as plain values, and the engine
//   re-marks as secret only outputs whose input of the same name was secret
//   (pkg/resource/plugin/provider_plugin.go, annotateSecrets); any other output that must be secret
//   needs `additionalSecretOutputs`;
// - the state is exactly what create/update return (`outs`, plus `__provider`); diff and update get
//   those olds; read runs on `pulumi refresh`; delete gets the saved state.
// Each operation here runs in a fresh child process, as the engine's plugin may be a new process
// for each update.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";

const CHILD = path.join(__dirname, "dynamicChild.js");
const ROOT = path.join(__dirname, "..", "..");

/** The text the SDK stores in `__provider`. */
export async function serializeAsEngine(provider: pulumi.dynamic.ResourceProvider): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure") as {
    serializeFunction(f: () => unknown, args: { allowSecrets: boolean }): Promise<{ text: string }>;
  };
  return (await closure.serializeFunction(() => provider, { allowSecrets: true })).text;
}

export type Op = "check" | "diff" | "create" | "read" | "update" | "delete";

/** Calls one operation of the serialized provider in a new process; values cross as protobuf Structs. */
export async function callInProviderProcess(serialized: string, op: Op, args: unknown[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<unknown> {
  const dir = mkdtempSync(path.join(tmpdir(), "dynprov-"));
  const input = path.join(dir, "in.json");
  const output = path.join(dir, "out.json");
  writeFileSync(input, JSON.stringify({ serialized, op, args, root: ROOT }));
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [CHILD, input, output], { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, _out, errOut) => {
        if (err && !safeExists(output)) reject(new Error(`provider process died during ${op}: ${err.message}\n${errOut}`));
        else resolve();
      });
    });
    const result = JSON.parse(readFileSync(output, "utf8")) as { ok: boolean; value?: unknown; error?: string };
    if (!result.ok) throw new Error(result.error);
    return result.value;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function safeExists(p: string): boolean {
  try {
    readFileSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * One dynamic resource's life as the engine drives it: inputs pass through the wire, the saved state
 * is what create/update returned plus `__provider`, and the next diff/update gets that state as olds.
 */
export class EngineDrivenResource<In extends object> {
  public id?: string;
  public state?: Record<string, unknown>;
  private serialized?: string;

  /**
   * `serialized`: the provider's text from an earlier `serializeAsEngine` of the same object, so several
   * resources in one test file pay for serialization once (the engine caches it per object too:
   * sdk/nodejs/dynamic/index.ts, providerCache).
   */
  constructor(private readonly provider: pulumi.dynamic.ResourceProvider, private readonly env: NodeJS.ProcessEnv = {}, serialized?: string) {
    this.serialized = serialized;
  }

  private async text(): Promise<string> {
    this.serialized ??= await serializeAsEngine(this.provider);
    return this.serialized;
  }

  private async call(op: Op, ...args: unknown[]): Promise<Record<string, unknown> | undefined> {
    return (await callInProviderProcess(await this.text(), op, args, this.env)) as Record<string, unknown> | undefined;
  }

  private withProvider(inputs: In): Record<string, unknown> {
    return { ...(inputs as Record<string, unknown>), __provider: this.serialized };
  }

  /** `pulumi up` of a new resource: check, then create. */
  async create(inputs: In): Promise<Record<string, unknown>> {
    const news = this.withProvider(inputs);
    const checked = await this.call("check", {}, news);
    const r = (await this.call("create", (checked?.["inputs"]) ?? news)) as { id: string; outs?: Record<string, unknown> };
    this.id = r.id;
    this.state = { ...(r.outs ?? {}), __provider: this.serialized };
    return this.state;
  }

  /** `pulumi up` of an existing resource: diff against the saved state, then update when it changed. */
  async up(inputs: In): Promise<{ changes: boolean; replaces: string[]; state: Record<string, unknown> }> {
    if (!this.id || !this.state) return { changes: true, replaces: [], state: await this.create(inputs) };
    const news = this.withProvider(inputs);
    const d = ((await this.call("diff", this.id, this.state, news)) ?? {}) as { changes?: boolean; replaces?: string[] };
    const replaces = d.replaces ?? [];
    if (replaces.length > 0) {
      await this.call("delete", this.id, this.state);
      this.id = undefined;
      return { changes: true, replaces, state: await this.create(inputs) };
    }
    // A provider without diff: the engine compares old and new inputs itself.
    if (d.changes === false) return { changes: false, replaces, state: this.state };
    const r = ((await this.call("update", this.id, this.state, news)) ?? {}) as { outs?: Record<string, unknown> };
    this.state = { ...(r.outs ?? {}), __provider: this.serialized };
    return { changes: true, replaces, state: this.state };
  }

  /** `pulumi refresh`: read with the saved state. */
  async refresh(): Promise<Record<string, unknown> | undefined> {
    const r = (await this.call("read", this.id, this.state)) as { id?: string; props?: Record<string, unknown> } | undefined;
    if (!r?.id) {
      this.id = undefined;
      this.state = undefined;
      return undefined;
    }
    this.id = r.id;
    this.state = { ...(r.props ?? {}), __provider: this.serialized };
    return this.state;
  }

  async destroy(): Promise<void> {
    if (this.id) await this.call("delete", this.id, this.state);
    this.id = undefined;
  }
}
