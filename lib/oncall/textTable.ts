// Plain-text tables for the read-only commands (status, readiness): fixed-width columns, no colour,
// so the output reads the same in a terminal, a CI log and a pasted incident note.

/** Renders rows under a header; cells are cut to `maxCell` characters (the full text is in --json). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], maxCell = 120): string {
  const cut = (s: string): string => (s.length > maxCell ? `${s.slice(0, maxCell - 3)}...` : s);
  const all = [header, ...rows].map((r) => header.map((_, i) => cut((r[i] ?? "").replace(/\s+/g, " "))));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(all[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...all.slice(1).map(line)].join("\n");
}
