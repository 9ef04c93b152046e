// FakeKubeApi's PATCH semantics (test/harness/kubePatch.ts): RFC 6902 JSON patch, RFC 7386 merge patch,
// strategic merge by name, and the API server's status code for each refusal.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyPatch, PatchError } from "./harness/kubePatch";

const doc = {
  metadata: { name: "s", labels: { "app.kubernetes.io/name": "pg", keep: "1" } },
  spec: { replicas: 1, template: { spec: { containers: [{ name: "a", env: [{ name: "X", value: "1" }, { name: "Y", value: "2" }] }, { name: "b" }] } } },
};
const json = (ops: unknown[]): Record<string, unknown> => applyPatch("application/json-patch+json", doc, JSON.stringify(ops));
const refusal = (f: () => unknown): number => {
  try {
    f();
  } catch (e) {
    if (e instanceof PatchError) return e.code;
    throw e;
  }
  return 200;
};

describe("PATCH as the API server applies it", () => {
  it("JSON patch: add/replace/remove/move/copy/test, escaped pointers, `-` appends; the input is not changed", () => {
    const out = json([
      { op: "replace", path: "/spec/replicas", value: 0 },
      { op: "remove", path: "/metadata/labels/app.kubernetes.io~1name" },
      { op: "add", path: "/spec/template/spec/containers/-", value: { name: "c" } },
      { op: "copy", from: "/spec/replicas", path: "/metadata/labels/copied" },
      { op: "move", from: "/metadata/labels/keep", path: "/metadata/labels/moved" },
      { op: "test", path: "/spec/template/spec/containers/0/env/1/value", value: "2" },
    ]) as typeof doc & { metadata: { labels: Record<string, unknown> } };
    assert.equal(out.spec.replicas, 0);
    assert.deepEqual(out.metadata.labels, { copied: 0, moved: "1" });
    assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ["a", "b", "c"]);
    assert.equal(doc.spec.replicas, 1, "input untouched");
  });

  it("refusals: 422 for a patch that does not apply (missing path, failed test, index past the end), 400 for one that does not decode", () => {
    assert.equal(refusal(() => json([{ op: "replace", path: "/spec/nothing", value: 1 }])), 422);
    assert.equal(refusal(() => json([{ op: "test", path: "/spec/replicas", value: 2 }])), 422);
    assert.equal(refusal(() => json([{ op: "add", path: "/spec/template/spec/containers/5", value: {} }])), 422);
    assert.equal(refusal(() => json([{ op: "jump", path: "/spec" }])), 400);
    assert.equal(refusal(() => applyPatch("application/json-patch+json", doc, '{"op":"add"}')), 400);
    assert.equal(refusal(() => applyPatch("application/merge-patch+json", doc, "{nope")), 400);
  });

  it("merge patch replaces lists and deletes nulls; strategic merge merges lists of named items by name", () => {
    const patch = JSON.stringify({ metadata: { labels: { keep: null } }, spec: { template: { spec: { containers: [{ name: "a", env: [{ name: "X", value: "9" }] }] } } } });
    const merge = applyPatch("application/merge-patch+json", doc, patch) as typeof doc;
    assert.deepEqual(merge.metadata.labels, { "app.kubernetes.io/name": "pg" });
    assert.deepEqual(merge.spec.template.spec.containers, [{ name: "a", env: [{ name: "X", value: "9" }] }]);
    const smp = applyPatch("application/strategic-merge-patch+json", doc, patch) as typeof doc;
    assert.deepEqual(smp.spec.template.spec.containers, [{ name: "a", env: [{ name: "X", value: "9" }, { name: "Y", value: "2" }] }, { name: "b" }]);
  });
});
