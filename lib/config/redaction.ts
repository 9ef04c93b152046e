// A secret never reaches a message (issue 19, section 4): every refusal is rewritten against the secret
// config before it is shown. Kept apart from lib/config/errors.ts, which dynamic providers' code captures
// (their closures are serialized; this module's YAML parser must not travel with them).
import * as yaml from "js-yaml";
import { ConfigError, describe, NAMESPACE, SECRET_SHOWN } from "./errors";

/** Config as the program reads it (values as text, objects as JSON) and the keys Pulumi holds as secrets. */
export interface SecretConfig {
  raw: Readonly<Record<string, string | undefined>>;
  secretKeys: ReadonlySet<string>;
  /**
   * Paths inside a secret key whose values are not secret, by key: those the stack also holds in plain
   * config and that messages must name (adoptedValues' organization, image and port; lib/config/config.ts).
   */
  plainPaths?: Readonly<Record<string, readonly string[]>>;
}

/** The top-level config key a key path belongs to: `sites.mp1.values.x` -> `sites`. */
export function topKey(key: string): string {
  return key.split(/[.[]/)[0] ?? key;
}

/** Whether a key path is (part of) a secret config key: the stored key itself, or the object it sits in. */
export function isSecretKey(key: string, secretKeys: ReadonlySet<string>): boolean {
  return secretKeys.has(key) || secretKeys.has(topKey(key));
}

/** The scalar leaves of a config value (objects arrive as JSON, chart values may be YAML text), but those at `plain` paths. */
function scalarLeaves(text: string, plain?: readonly string[]): string[] {
  let parsed: unknown;
  try {
    parsed = yaml.load(text, { schema: yaml.JSON_SCHEMA });
  } catch {
    parsed = undefined; // not YAML: only its whole text is searched
  }
  const walk = (v: unknown, at: string): string[] => {
    if (plain?.includes(at)) return [];
    if (typeof v === "string" || typeof v === "number") return [String(v)];
    if (Array.isArray(v)) return v.flatMap((x, i) => walk(x, `${at}[${i}]`));
    // A map; a boolean or null has no entries.
    return Object.entries(v ?? {}).flatMap(([k, x]) => walk(x, at === "" ? k : `${at}.${k}`));
  };
  return walk(parsed, "");
}

/**
 * Shortest text of a secret that is searched anywhere in a message: shorter ones ("60", "tsb") also
 * occur in ordinary words. A secret key's own short values are still removed where they stand alone.
 */
export const MIN_FRAGMENT = 4;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Removes every secret of the config from a text: each secret key's whole value and each of its leaves
 * (as written and as JSON would escape it), and, for the secret keys the text is about (each
 * `tsb-ha:<key>` it names), their shorter leaves where they stand alone (a number in a fix command).
 */
export function redact(text: string, secrets: SecretConfig, aboutKey?: string): string {
  const about = (key: string): boolean => topKey(key) === aboutKey || new RegExp(`${NAMESPACE}:${escapeRegExp(topKey(key))}(?![\\w-])`).test(text);
  const fragments = new Set<string>();
  const tokens = new Set<string>();
  for (const key of secrets.secretKeys) {
    const value = secrets.raw[key];
    if (value === undefined) continue;
    for (const leaf of [value, ...scalarLeaves(value, secrets.plainPaths?.[key])]) {
      for (const form of [leaf, JSON.stringify(leaf).slice(1, -1)]) {
        if (form.length >= MIN_FRAGMENT) fragments.add(form);
        else if (form.trim() !== "" && about(key)) tokens.add(form);
      }
    }
  }
  let out = text;
  // Longest first, so a leaf inside a longer secret does not leave the rest of it behind.
  for (const f of [...fragments].sort((a, b) => b.length - a.length)) out = out.split(f).join(SECRET_SHOWN);
  for (const t of tokens) out = out.replace(new RegExp(`(?<![\\w.:/-])${escapeRegExp(t)}(?![\\w/-]|[.:]\\w)`, "g"), SECRET_SHOWN);
  return out;
}

/**
 * A refusal as it may be shown: a secret key's value hidden (known key or not: a typo or a dotted key
 * set without --path is stored as its own secret key), and no secret of the config left in its text.
 */
export function withoutSecrets<E>(e: E, secrets: SecretConfig): E | ConfigError {
  if (!(e instanceof ConfigError)) return e;
  const own = isSecretKey(e.key, secrets.secretKeys);
  const value = e.value === undefined ? undefined : describe(e.value);
  // A value that is only a part of the key's own name (`kubeconfigs.mp9 = "mp9"`) tells nothing more.
  const named = (e.key.split(/[.[\]]/) as unknown[]).includes(e.value);
  const hide = value !== undefined && ((own && !isPlaceholder(e.value) && !named) || redact(value, secrets) !== value);
  return new ConfigError(e.key, hide ? SECRET_SHOWN : e.value, redact(e.problem, secrets, topKey(e.key)));
}

/** What the code shows in place of a value it already keeps back: "(secret, not shown)", "[secret]". */
function isPlaceholder(v: unknown): boolean {
  return typeof v === "string" && /^(\([a-z ,]*not shown\)|\[[a-z]+\])$/.test(v);
}
