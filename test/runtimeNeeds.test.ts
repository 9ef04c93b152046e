// What a real run needs from the machine (issue 19, section 5): every module the program and the
// on-call commands load at run time is a `dependency` of package.json (a devDependency is missing
// after `npm ci --omit=dev`, and one that resolves only through another package's dependencies can
// vanish with that package's next release), and Node is new enough to `require` the ESM-only
// @kubernetes/client-node 1.4.0 inside the dynamic providers (tooling-facts.md: require(esm) works on
// Node >= 20.19 and >= 22.12; older Node throws ERR_REQUIRE_ESM, which tsx hides in tests).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { builtinModules } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { nodeRunsDynamicProviders } from "../lib/oncall/readiness";

const ROOT = path.join(__dirname, "..");
const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string>;
};
/** What runs outside the tests: the program (Pulumi loads index.ts) and the npm scripts a person runs. */
const ENTRY_POINTS = ["index.ts", "scripts/status.ts", "scripts/readiness.ts", "scripts/control-plane-values.ts"];

/** Bare module names a file loads at run time: value imports, re-exports, require() and import() calls (type-only ones are erased). */
function runtimeSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      const allTypes = !node.importClause?.name && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
      if (!allTypes) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)
      && ((ts.isIdentifier(node.expression) && node.expression.text === "require") || node.expression.kind === ts.SyntaxKind.ImportKeyword)) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Follows relative imports from the entry points; returns each bare package with the files that load it. */
function packagesLoaded(): Map<string, string[]> {
  const seen = new Set<string>();
  const packages = new Map<string, string[]>();
  const queue = ENTRY_POINTS.map((f) => path.join(ROOT, f));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of runtimeSpecifiers(file)) {
      if (spec.startsWith(".")) {
        const base = path.resolve(path.dirname(file), spec);
        const next = [`${base}.ts`, path.join(base, "index.ts")].find((f) => existsSync(f));
        assert.ok(next, `${path.relative(ROOT, file)} imports ${spec}, which is not a .ts file of the repo`);
        queue.push(next);
        continue;
      }
      const name = spec.startsWith("node:") || builtinModules.includes(spec.split("/")[0]!) ? "node:" : spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
      if (name === "node:") continue;
      packages.set(name, [...(packages.get(name) ?? []), path.relative(ROOT, file)]);
    }
  }
  return packages;
}

function runScript(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", script), ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("what a real run needs from the machine", () => {
  it("every package the program and the on-call commands load is a dependency, not a devDependency", () => {
    const loaded = packagesLoaded();
    assert.ok(loaded.has("@pulumi/pulumi") && loaded.has("@kubernetes/client-node") && loaded.has("js-yaml"), `the walk finds the program's packages: ${[...loaded.keys()].join(", ")}`);
    for (const [name, files] of loaded) {
      assert.ok(name in manifest.dependencies, `${name} (loaded by ${files.join(", ")}) must be in package.json dependencies${name in manifest.devDependencies ? ", not devDependencies" : ""}`);
    }
  });

  it("package.json engines asks for a Node that can require(esm), the rule readiness checks", () => {
    // The range npm compares with: `^20.19.0 || ^22.12.0` (npm's semver: ^x.y.z = >=x.y.z <x+1.0.0).
    const ranges = manifest.engines.node.split("||").map((r) => /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(r));
    assert.ok(ranges.every((m) => m !== null), `engines.node is a list of caret ranges: ${manifest.engines.node}`);
    const allows = (v: string): boolean => {
      const [a, b, c] = v.split(".").map(Number) as [number, number, number];
      return ranges.some((m) => {
        const [x, y, z] = m.slice(1).map(Number) as [number, number, number];
        return a === x && (b > y || (b === y && c >= z));
      });
    };
    for (const v of ["20.18.3", "20.19.0", "20.20.2", "22.11.0", "22.12.0", "22.20.0", "18.20.0", "23.0.0"]) {
      assert.equal(allows(v), nodeRunsDynamicProviders(v) && Number(v.split(".")[0]) <= 22, `engines and readiness agree on Node ${v}`);
    }
  });

  for (const script of ["status.ts", "readiness.ts"]) {
    it(`npm run ${script.replace(".ts", "")} -- --help prints its usage and exits 0; an unknown argument still exits 2`, async () => {
      for (const flag of ["--help", "-h"]) {
        const r = await runScript(script, [flag]);
        assert.equal(r.code, 0, `${flag}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^Usage: npm run ${script.replace(".ts", "")} -- `), flag);
        assert.match(r.stdout, /Exit: 0 /, "the usage says what the exit codes mean");
      }
      const wrong = await runScript(script, ["--nonsense"]);
      assert.equal(wrong.code, 2);
      assert.match(wrong.stdout, /unknown argument --nonsense/);
    });
  }
});
