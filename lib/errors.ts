// One error type for bad config and refused plans: the message names the key, the value and what
// is allowed, so `loadConfig` can turn it into a RunError (no stack trace) before any resource exists.
export const NAMESPACE = "tsb-ha";

export class ConfigError extends Error {
  constructor(
    public readonly key: string,
    public readonly value: unknown,
    problem: string,
  ) {
    super(`${NAMESPACE}:${key} ${value === undefined ? "(not set)" : `= ${describe(value)}`} ${problem}`);
    this.name = "ConfigError";
  }
}

/** A short, printable form of a config value (never used for secrets: callers pass a placeholder). */
export function describe(value: unknown): string {
  if (value === undefined) return "not set";
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
