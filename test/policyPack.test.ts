// The policy pack loads the way the Pulumi CLI loads it. The CLI starts the `pulumi-analyzer-policy`
// plugin with the pack folder as working directory; the plugin runs `@pulumi/pulumi/cmd/run-policy-pack`
// from the pack's node_modules with args [engine address, "."] (pulumi/pulumi
// pkg/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer). run-policy-pack registers ts-node with
// `typeCheck: true` and the compiler options of the pack's tsconfig.json, then requires the package's
// `main` (@pulumi/pulumi 3.248.0 cmd/run-policy-pack/run.js). ts-node compiles every .ts file the pack
// requires, also those outside the folder (policies.ts imports ../lib/plan/resourceNames.ts), and resolves
// their modules from their own location. The PolicyPack then serves the analyzer over gRPC on
// 127.0.0.1 and prints its port (@pulumi/policy 1.21.0 server.js `serve`).
//
// Here the pack folder has no node_modules of its own, so Node resolves @pulumi/pulumi and
// @pulumi/policy from the repository root, at the versions policy/package.json pins (policy.test.ts
// checks the pins).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { allPolicies } from "../policy/policies";

const POLICY_DIR = path.join(__dirname, "..", "policy");
const STARTUP_MS = 90_000;

interface PolicyInfo { getName(): string }
interface AnalyzerInfo { getName(): string; getPoliciesList(): PolicyInfo[] }
type AnalyzerClient = grpc.Client & {
  getAnalyzerInfo(req: unknown, cb: (err: grpc.ServiceError | null, res: AnalyzerInfo) => void): void;
};

/** Starts the pack as the analyzer plugin does; resolves with the port it prints. */
function startPack(): { child: ChildProcess; port: Promise<number> } {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICY_DIR] });
  const child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: POLICY_DIR, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const port = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`policy pack printed no port within ${STARTUP_MS} ms; stderr:\n${stderr}`)), STARTUP_MS);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /^(\d+)\s*$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`policy pack exited with ${String(code)} before serving; stdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });
  return { child, port };
}

function analyzerInfo(port: number): Promise<AnalyzerInfo> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const rpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as { AnalyzerClient: new (addr: string, creds: grpc.ChannelCredentials) => AnalyzerClient };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Empty } = require("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => unknown };
  const client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.getAnalyzerInfo(new Empty(), (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

describe("policy pack as the Pulumi CLI loads it", () => {
  const started = startPack();
  after(() => {
    if (started.child.exitCode === null) started.child.kill("SIGTERM");
  });

  it("compiles with ts-node from policy/ (lib/ imports included) and serves every policy", { timeout: STARTUP_MS + 10_000 }, async () => {
    const info = await analyzerInfo(await started.port);
    assert.equal(info.getName(), "tsb-ha");
    assert.deepEqual(info.getPoliciesList().map((p) => p.getName()).sort(), allPolicies().map((p) => p.name).sort());
  });
});
