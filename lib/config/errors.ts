// One error type for bad config and refused plans: the message names the key, the value and what
// is allowed, so `loadConfig` can turn it into a RunError (no stack trace) before any resource exists.
// A secret never reaches a message: lib/config/redaction.ts rewrites every refusal against the secret config.

export const NAMESPACE = "tsb-ha";

/** What a message shows instead of a secret value. */
export const SECRET_SHOWN = "[secret]";

export class ConfigError extends Error {
  constructor(
    public readonly key: string,
    public readonly value: unknown,
    public readonly problem: string,
  ) {
    super(`${NAMESPACE}:${key} ${value === undefined ? "(not set)" : `= ${describe(value)}`} ${problem}`);
    this.name = "ConfigError";
  }
}

/** A short, printable form of a config value (secrets never get here: lib/config/redaction.ts withoutSecrets hides them). */
export function describe(value: unknown): string {
  if (value === undefined) return "not set";
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The `history` output could not be read: the guards must not silently start from nothing. */
export class HistoryError extends Error {
  constructor(found: unknown, problem: string) {
    super(`The stack output "history" (saved by the last update, read back to guard this one) ${problem}. Found: ${describe(found)}. ` +
      `Nothing was changed. Repair: restore it from an earlier state (pulumi stack export --version <n>; docs/failover.md, "History"), ` +
      `or, only if this stack never ran a failover, remove the output with pulumi stack export / import`);
    this.name = "HistoryError";
  }
}
