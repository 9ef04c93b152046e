// The layering rule of the program (README, "Layout"), as a check over source texts: each lib/ folder
// imports only from itself or from folders below it, in the order
//   config -> plan | clients -> gates -> adoption | oncall -> components -> entries (index.ts, scripts/, policy/)
// (folders on one rank do not import each other), lib/adoption/ is one pipeline whose files import only
// the ones before them, and no file takes part in an import cycle. Type-only imports count: they are
// how a folder starts to lean on the one above it.
import * as path from "node:path";
import * as ts from "typescript";

/** Rank of each layer; a file may import its own layer or a lower rank. */
export const LAYER_RANK: Readonly<Record<string, number>> = {
  "lib/config": 0,
  "lib/plan": 1,
  "lib/clients": 1,
  "lib/gates": 2,
  "lib/adoption": 3,
  "lib/oncall": 3,
  components: 4,
  entries: 5,
};

/** lib/adoption/ in the order the data flows: config (lib/config/adoption.ts) -> read -> decide -> plan -> ... */
export const ADOPTION_PIPELINE = ["read", "decide", "plan", "overlay", "describe"];

export function layerOf(file: string): string | undefined {
  const lib = /^lib\/([^/]+)\/[^/]+\.ts$/.exec(file);
  if (lib) return LAYER_RANK[`lib/${lib[1]}`] === undefined ? undefined : `lib/${lib[1]}`;
  if (/^components\/[^/]+\.ts$/.test(file)) return "components";
  if (file === "index.ts" || /^(scripts|policy)\/[^/]+\.ts$/.test(file)) return "entries";
  return undefined;
}

/** Every relative module a file names: imports (type-only too), re-exports, require() and import(). */
export function importsOf(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => f.fileName).filter((name) => name.startsWith("."));
}

function resolve(files: Record<string, string>, from: string, spec: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  return [base, `${base}.ts`, `${base}/index.ts`].find((candidate) => candidate in files);
}

/** What breaks the rule, one line each; empty when the sources keep it. `files`: repo path -> text. */
export function layerViolations(files: Record<string, string>): string[] {
  const out: string[] = [];
  const edges = new Map<string, string[]>();
  for (const [file, text] of Object.entries(files)) {
    const layer = layerOf(file);
    if (layer === undefined) {
      out.push(`${file}: in no layer (lib/ files live in ${Object.keys(LAYER_RANK).filter((l) => l.startsWith("lib/")).join(", ")})`);
      continue;
    }
    const targets: string[] = [];
    for (const spec of importsOf(text)) {
      const target = resolve(files, file, spec);
      if (target === undefined) {
        out.push(`${file}: imports ${spec}, which is no source file here`);
        continue;
      }
      targets.push(target);
      const problem = importProblem(file, layer, target);
      if (problem) out.push(`${file} -> ${target}: ${problem}`);
    }
    edges.set(file, targets);
  }
  return [...out, ...cycles(edges).map((c) => `import cycle: ${c.join(" -> ")}`)];
}

function importProblem(file: string, layer: string, target: string): string | undefined {
  const targetLayer = layerOf(target);
  if (targetLayer === undefined) return "imports a file in no layer";
  if (targetLayer === layer) return layer === "lib/adoption" ? pipelineProblem(file, target) : undefined;
  const [from, to] = [LAYER_RANK[layer]!, LAYER_RANK[targetLayer]!];
  if (to > from) return `${layer} imports ${targetLayer}, which is above it`;
  if (to === from) return `${layer} and ${targetLayer} are on one rank and do not import each other`;
  return undefined;
}

function pipelineProblem(file: string, target: string): string | undefined {
  const step = (f: string) => ADOPTION_PIPELINE.indexOf(path.posix.basename(f, ".ts"));
  if (step(file) < 0) return `${file} is not in the adoption pipeline (${ADOPTION_PIPELINE.join(" -> ")})`;
  if (step(target) < 0) return `${target} is not in the adoption pipeline (${ADOPTION_PIPELINE.join(" -> ")})`;
  return step(target) < step(file) ? undefined : `the adoption pipeline runs ${ADOPTION_PIPELINE.join(" -> ")}: a step imports only the ones before it`;
}

/** Each import cycle once, as the files around it (Tarjan's strongly connected components). */
function cycles(edges: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}
