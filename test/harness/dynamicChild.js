// The provider process of test/harness/dynamicProvider.ts: rebuilds a serialized dynamic provider as
// pulumi/pulumi's sdk/nodejs/cmd/dynamic-provider does (requireFromString(text).handler()), runs one
// operation, and writes the result to a file (never stdout, which a quick exit can cut off).
// Plain JavaScript on purpose: the engine's provider process has no TypeScript loader either.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const [, , inFile, outFile] = process.argv;
const { serialized, op, args, root } = JSON.parse(fs.readFileSync(inFile, "utf8"));
const requireFromString = require(path.join(root, "node_modules", "require-from-string"));
const { Struct } = require(path.join(root, "node_modules", "google-protobuf", "google", "protobuf", "struct_pb.js"));

// What crosses the gRPC wire: a Struct (undefined members dropped, numbers as doubles).
const wire = (v) => (v === undefined || v === null ? v : Struct.fromJavaScript(v).toJavaScript());

async function main() {
  // requireFromString resolves `require` from the given file name, as the engine's plugin resolves
  // from the program's directory.
  const provider = requireFromString(serialized, path.join(root, "dynamic-provider-process.js")).handler();
  const fn = provider[op];
  const wired = args.map((a) => (typeof a === "object" && a !== null ? wire(a) : a));
  if (typeof fn !== "function") {
    // The SDK's defaults when a method is absent (cmd/dynamic-provider/index.ts).
    if (op === "check") return { inputs: wired[1] };
    if (op === "diff") return {};
    if (op === "read") return { id: wired[0], props: wired[1] };
    return undefined;
  }
  const result = await fn.apply(provider, wired);
  return result === undefined ? undefined : JSON.parse(JSON.stringify(result));
}

main().then(
  (value) => {
    fs.writeFileSync(outFile, JSON.stringify({ ok: true, value }));
    process.exit(0);
  },
  (e) => {
    fs.writeFileSync(outFile, JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) }));
    process.exit(0);
  },
);
