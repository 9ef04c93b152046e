// The program's layering (README, "Layout"), read from the sources themselves: a newcomer can trust the
// tree to show the architecture only while no import runs back up. The synthetic cases show the check
// finds each kind of break, so a green run means the real tree has none.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { layerViolations } from "./harness/layers";

const ROOT = path.join(__dirname, "..");

function sources(): Record<string, string> {
  const files: Record<string, string> = { "index.ts": readFileSync(path.join(ROOT, "index.ts"), "utf8") };
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory() && entry.name !== "node_modules") walk(rel);
      else if (entry.isFile() && entry.name.endsWith(".ts")) files[rel] = readFileSync(path.join(ROOT, rel), "utf8");
    }
  };
  for (const dir of ["lib", "components", "scripts", "policy"]) walk(dir);
  return files;
}

describe("layers", () => {
  it("the program's sources keep the layering: no import runs up, across a rank, back along the adoption pipeline, or in a cycle", () => {
    const files = sources();
    assert.ok(Object.keys(files).filter((f) => f.startsWith("lib/")).length > 30, "the walk found lib/");
    assert.deepEqual(layerViolations(files), []);
  });

  const clean: Record<string, string> = {
    "lib/config/config.ts": `import * as yaml from "js-yaml";`,
    "lib/plan/topology.ts": `import type { SetConfig } from "../config/config";`,
    "lib/clients/kube.ts": `import { x } from "../config/config";`,
    "lib/gates/gate.ts": `import { a } from "../plan/topology"; import { b } from "../clients/kube";`,
    "lib/adoption/read.ts": `import { b } from "../clients/kube";`,
    "lib/adoption/decide.ts": `import type { R } from "./read";`,
    "lib/oncall/status.ts": `import { g } from "../gates/gate";`,
    "components/c.ts": `import { d } from "../lib/adoption/decide"; export * from "../lib/oncall/status";`,
    "index.ts": `import { C } from "./components/c";`,
  };

  it("a tree that keeps the rule passes (type imports, re-exports and packages included)", () => {
    assert.deepEqual(layerViolations(clean), []);
  });

  const broken: Array<[string, Record<string, string>, RegExp]> = [
    ["a folder importing one above it", { "lib/config/config.ts": `import { g } from "../gates/gate";` }, /lib\/config imports lib\/gates, which is above it/],
    ["a type-only import across one rank", { "lib/plan/topology.ts": `import type { K } from "../clients/kube";` }, /lib\/plan and lib\/clients are on one rank/],
    ["a require() of a component from lib", { "lib/gates/gate.ts": `const c = require("../../components/c");` }, /lib\/gates imports components, which is above it/],
    ["a step of the adoption pipeline importing a later one", { "lib/adoption/read.ts": `import { d } from "./decide";` }, /a step imports only the ones before it/],
    ["a file outside the adoption pipeline's list", { "lib/adoption/extra.ts": `import { r } from "./read";` }, /is not in the adoption pipeline/],
    ["a file directly in lib/", { "lib/loose.ts": `` }, /lib\/loose\.ts: in no layer/],
    ["an import of a file that does not exist", { "lib/gates/gate.ts": `import { a } from "../plan/gone";` }, /imports \.\.\/plan\/gone, which is no source file/],
    ["a cycle inside one folder, through a type import", {
      "lib/gates/gate.ts": `import { o } from "./other";`, "lib/gates/other.ts": `import type { G } from "./gate";`,
    }, /import cycle: lib\/gates\/gate\.ts -> lib\/gates\/other\.ts/],
  ];
  for (const [what, change, expected] of broken) {
    it(`finds ${what}`, () => {
      const violations = layerViolations({ ...clean, ...change });
      assert.ok(violations.some((v) => expected.test(v)), `expected ${String(expected)} among:\n${violations.join("\n")}`);
    });
  }
});
