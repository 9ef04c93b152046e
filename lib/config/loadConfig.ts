// The only place that reads Pulumi config. Bad config ends the program here, with one message and
// no stack trace, before any resource is registered.
import * as pulumi from "@pulumi/pulumi";
import { parseConfig, secretConfigOf, type SetConfig } from "./config";
import { ConfigError, HistoryError, NAMESPACE } from "./errors";
import { withoutSecrets, type SecretConfig } from "./redaction";

/** The secret config of this run: refusals made after loadConfig (planning) are checked against it too. */
let loaded: SecretConfig | undefined;

export function loadConfig(): SetConfig {
  const raw: Record<string, string | undefined> = {};
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (fullKey.startsWith(`${NAMESPACE}:`)) raw[fullKey.slice(NAMESPACE.length + 1)] = value;
  }
  loaded = secretConfigOf(raw, secretConfigKeys());
  try {
    const { config, warnings } = parseConfig(raw, loaded.secretKeys);
    for (const w of warnings) void pulumi.log.warn(w);
    return config;
  } catch (e) {
    throw toRunError(e);
  }
}

export function toRunError(e: unknown): unknown {
  const shown = loaded ? withoutSecrets(e, loaded) : e;
  return shown instanceof ConfigError || shown instanceof HistoryError ? new pulumi.RunError(shown.message) : shown;
}

/**
 * Keys (without namespace) whose values Pulumi holds as secrets. The SDK knows (the CLI passes them
 * in PULUMI_CONFIG_SECRET_KEYS) but exports the check only from its runtime module.
 */
function secretConfigKeys(): Set<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret: (key: string) => boolean };
  const isConfigSecret = runtimeConfig.isConfigSecret;
  const keys = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(`${NAMESPACE}:`) && isConfigSecret(k));
  return new Set(keys.map((k) => k.slice(NAMESPACE.length + 1)));
}
