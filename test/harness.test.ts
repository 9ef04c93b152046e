// The mocked-run harness itself: large results arrive whole, and a child that dies says how.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runProgram } from "./harness/runProgram";
import { baseConfig } from "./fixtures";

describe("mocked-run harness", () => {
  it("returns a result far larger than a pipe buffer, whole (24 sites)", async () => {
    const sites = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`mp${i + 1}`, { context: `mp${i + 1}` }]));
    const run = await runProgram({ config: baseConfig({ sites }), secretKeys: ["standbyServiceAccountJwk"] });
    assert.deepEqual(run.errors, []);
    assert.ok(JSON.stringify(run).length > 200_000, `result is ${JSON.stringify(run).length} bytes`);
    for (let i = 1; i <= 24; i++) assert.ok(run.registrations.some((r) => r.name === `mp${i}-managementplane`), `mp${i}`);
    assert.ok(run.outputs?.["history"], "and the outputs, which come last");
  });

  it("reports a child that exits before its result, with its exit code and what it printed", async () => {
    await assert.rejects(runProgram({ config: baseConfig(), dieBeforeResult: "exit" }), (e: Error) => {
      assert.match(e.message, /^mocked run crashed \(exit code 7, signal none\)/);
      assert.match(e.message, /child: exiting on purpose before the result/);
      return true;
    });
  });

  it("reports a child that dies of an uncaught error, with the error", async () => {
    await assert.rejects(runProgram({ config: baseConfig(), dieBeforeResult: "throw" }), (e: Error) => {
      assert.match(e.message, /^mocked run crashed \(exit code 1/);
      assert.match(e.message, /child: thrown on purpose outside any handler/);
      return true;
    });
  });
});
