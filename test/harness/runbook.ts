// Every refusal's fix points at a runbook section: that section must exist, under that exact title.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

/** A doc from the repository root; searched upwards because a mutation-testing sandbox (stryker.config.json ignores docs/) sits below it. */
function readDoc(doc: string): string {
  for (let dir = path.join(__dirname, "..", ".."), i = 0; i < 6; dir = path.dirname(dir), i++) {
    const file = path.join(dir, doc);
    if (existsSync(file)) return readFileSync(file, "utf8");
  }
  throw new Error(`${doc} not found above ${__dirname}`);
}

const headings = new Map<string, Set<string>>();

/** Asserts that `reason` points at `doc`, "`section`" and that the doc has that heading. */
export function assertRunbookSection(reason: string, section: string, doc = "docs/replication.md"): void {
  if (!headings.has(doc)) {
    headings.set(doc, new Set(readDoc(doc).split("\n").filter((l) => l.startsWith("#")).map((l) => l.replace(/^#+\s*/, "").trim())));
  }
  assert.ok(reason.includes(`${doc}, "${section}"`), `"${reason}" should point at ${doc}, "${section}"`);
  assert.ok(headings.get(doc)!.has(section), `${doc} has no section "${section}"`);
}
