// PATCH as the API server applies it (k8s.io/apiserver pkg/endpoints/handlers/patch.go, jsonPatcher and
// smpPatcher), for FakeKubeApi. The status code of each refusal is the API server's:
// - application/json-patch+json (RFC 6902): a document that does not decode as a patch is 400 BadRequest
//   (`jsonpatch.DecodePatch` error -> errors.NewBadRequest); one that fails to apply (missing path,
//   failed `test`) is 422 Invalid "the server rejected our request due to an error in our request"
//   (errors.NewGenericServerResponse(422, ...), which drops the patch library's own message).
// - application/merge-patch+json (RFC 7386): bad JSON is 400.
// - application/strategic-merge-patch+json: merge patch, except that lists of objects keyed by `name`
//   (containers, initContainers, env, volumes, volumeMounts: patchMergeKey "name" in k8s.io/api) merge
//   item by item. Directives (`$patch`, `$retainKeys`...) and other merge keys are not implemented.
// @kubernetes/client-node 1.4.0's generated `patchNamespaced*` send application/json-patch+json by default
// (the first JSON-like type of their list: dist/gen/apis/AppsV1Api.js, ObjectSerializer.getPreferredMediaType).

export const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

/** A refusal: `code` 400 (the patch does not decode) or 422 (it does not apply). */
export class PatchError extends Error {
  constructor(readonly code: 400 | 422, message: string) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The patched copy of `doc`; throws PatchError. */
export function applyPatch(type: PatchType, doc: Record<string, unknown>, body: string): Record<string, unknown> {
  let patch: Json;
  try {
    patch = JSON.parse(body) as Json;
  } catch (e) {
    throw new PatchError(400, `error decoding patch: ${(e as Error).message}`);
  }
  const target = structuredClone(doc) as Json;
  const out = type === "application/json-patch+json" ? jsonPatch(target, patch) : mergePatch(target, patch, type === "application/strategic-merge-patch+json");
  if (!isObject(out)) throw new PatchError(422, "the server rejected our request due to an error in our request");
  return out;
}

const APPLY_FAILED = "the server rejected our request due to an error in our request";

interface Op {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: Json;
}

function decodeOps(patch: Json): Op[] {
  if (!Array.isArray(patch)) throw new PatchError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  return patch.map((o) => {
    const ok = isObject(o) && typeof o["op"] === "string" && ["add", "remove", "replace", "move", "copy", "test"].includes(o["op"]) && typeof o["path"] === "string"
      && (!["move", "copy"].includes(o["op"]) || typeof o["from"] === "string") && (!["add", "replace", "test"].includes(o["op"]) || "value" in o);
    if (!ok) throw new PatchError(400, `invalid JSON patch operation ${JSON.stringify(o)}`);
    return o as unknown as Op;
  });
}

function jsonPatch(doc: Json, patch: Json): Json {
  let out = doc;
  for (const op of decodeOps(patch)) {
    const path = pointer(op.path);
    if (op.op === "add") out = add(out, path, op.value!);
    else if (op.op === "remove") out = remove(out, path);
    else if (op.op === "replace") out = add(remove(out, path), path, op.value!);
    else if (op.op === "move") {
      const value = get(out, pointer(op.from!));
      out = add(remove(out, pointer(op.from!)), path, value);
    } else if (op.op === "copy") out = add(out, path, structuredClone(get(out, pointer(op.from!))));
    else if (JSON.stringify(get(out, path)) !== JSON.stringify(op.value)) throw new PatchError(422, APPLY_FAILED);
  }
  return out;
}

/** RFC 6901 pointer -> reference tokens. */
function pointer(p: string): string[] {
  if (p === "") return [];
  if (!p.startsWith("/")) throw new PatchError(422, APPLY_FAILED);
  return p.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function get(doc: Json, path: string[]): Json {
  let cur = doc;
  for (const t of path) {
    if (Array.isArray(cur) && /^\d+$/.test(t) && Number(t) < cur.length) cur = cur[Number(t)]!;
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t]!;
    else throw new PatchError(422, APPLY_FAILED);
  }
  return cur;
}

function add(doc: Json, path: string[], value: Json): Json {
  if (path.length === 0) return value;
  const parent = get(doc, path.slice(0, -1));
  const key = path.at(-1)!;
  if (Array.isArray(parent)) {
    const i = key === "-" ? parent.length : /^\d+$/.test(key) ? Number(key) : -1;
    if (i < 0 || i > parent.length) throw new PatchError(422, APPLY_FAILED);
    parent.splice(i, 0, value);
  } else if (isObject(parent)) parent[key] = value;
  else throw new PatchError(422, APPLY_FAILED);
  return doc;
}

function remove(doc: Json, path: string[]): Json {
  get(doc, path); // must exist
  if (path.length === 0) return null;
  const parent = get(doc, path.slice(0, -1));
  const key = path.at(-1)!;
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (isObject(parent)) delete parent[key];
  return doc;
}

/** RFC 7386 merge; with `strategic`, lists of objects that all have a `name` merge by name. */
function mergePatch(target: Json, patch: Json, strategic: boolean): Json {
  if (strategic && Array.isArray(target) && Array.isArray(patch) && [...target, ...patch].every((i) => isObject(i) && typeof i["name"] === "string")) {
    const byName = (list: Json[], name: Json): Json | undefined => list.find((i) => isObject(i) && i["name"] === name);
    const merged = target.map((t) => {
      const p = byName(patch, (t as Record<string, Json>)["name"]!);
      return p === undefined ? t : mergePatch(t, p, true);
    });
    return [...merged, ...patch.filter((p) => byName(target, (p as Record<string, Json>)["name"]!) === undefined)];
  }
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v, strategic);
  }
  return out;
}
