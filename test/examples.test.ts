// Every example stack file passes the program's own validation (lib/config/config.ts parseConfig), as Pulumi
// would hand it to the program: values of `tsb-ha:` keys as strings, objects as JSON text, `secure:`
// values decrypted and listed as secret (lib/config/loadConfig.ts). A secret an example tells the user to set
// (`pulumi config set --secret [--path] 'tsb-ha:<key>'` in its comments) counts as set. Each example is
// also checked with every commented key switched on ("# key: value" -> "key: value"), and that variant
// must name every key the program accepts, so a new config key fails here until the example shows it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { parseConfig, type RawConfig } from "../lib/config/config";
import { planAdoption } from "../lib/adoption/plan";
import { NAMESPACE } from "../lib/config/errors";
import { makeJwk } from "./fixtures";

const ROOT = path.join(__dirname, "..");

/** Pulumi.*.yaml at the root (not Pulumi.yaml) and under examples/. */
function exampleFiles(): string[] {
  const at = (dir: string) => fs.existsSync(path.join(ROOT, dir))
    ? fs.readdirSync(path.join(ROOT, dir)).filter((f) => /^Pulumi\..+\.ya?ml$/.test(f)).map((f) => path.join(dir, f))
    : [];
  return [...at("."), ...at("examples")].map((f) => path.normalize(f));
}

const KUBECONFIG = [
  "apiVersion: v1", "kind: Config", "current-context: example",
  "clusters: [{name: example, cluster: {server: 'https://127.0.0.1:6443'}}]",
  "users: [{name: example, user: {token: example}}]",
  "contexts: [{name: example, context: {cluster: example, user: example}}]",
].join("\n");

/**
 * What an adopted install's `helm get values <release> -n tsb -o yaml` prints, in the shape of
 * tetratelabs/tsb-helm-install-demos examples/managementplane_values_example.yaml (user-supplied
 * certificates, LDAP and Postgres credentials, TSB's self-signed issuer for cluster intermediates).
 * The examples' `tsb.*` must agree with it (lib/config/adoption.ts compares image.tag, image.registry,
 * spec.organization and the front-envoy port): version 1.12.4, registry registry.example.com/tetrate,
 * organization tetrate, port 443.
 */
const ADOPTED_VALUES = [
  "image:",
  "  registry: registry.example.com/tetrate",
  "  tag: 1.12.4",
  "secrets:",
  "  ldap:",
  "    binddn: cn=admin,dc=tetrate,dc=io",
  "    bindpassword: example-ldap-password",
  "  postgres:",
  "    password: example-postgres-password",
  "    username: tsb",
  "  tsb:",
  "    adminPassword: example-admin-password",
  "    cert: <old tsb-certs PEM>",
  "    key: <old tsb-certs key>",
  "  xcp:",
  "    autoGenerateCerts: false",
  "    central:",
  "      cert: <old xcp-central PEM>",
  "      key: <old xcp-central key>",
  "    rootca: <old root CA PEM>",
  "spec:",
  "  certIssuer:",
  "    clusterIntermediateCAs: {}",
  "    selfSigned: {}",
  "  components:",
  "    frontEnvoy:",
  "      port: 443",
  "  hub: registry.example.com/tetrate",
  "  organization: tetrate",
].join("\n");

/** The CA the control planes trust: a real one (the validation checks that certPem is a CA and keyPem its key). */
let adoptedCa: { certPem: string; keyPem: string } | undefined;
function exampleCa(): { certPem: string; keyPem: string } {
  if (adoptedCa) return adoptedCa;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "examples-ca-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/O=Example/CN=Example Root CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], { cwd: dir, stdio: "pipe" });
    adoptedCa = { certPem: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), keyPem: fs.readFileSync(path.join(dir, "ca.key"), "utf8") };
    return adoptedCa;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A stand-in for a decrypted secret, by key path (`standbyServiceAccountJwk`, `kubeconfigs.mp2`, `adoptedCa.certPem`). */
function secretValue(keyPath: string): string {
  if (keyPath === "standbyServiceAccountJwk") return makeJwk();
  if (/^kubeconfigs\.[a-z0-9-]+$/.test(keyPath)) return KUBECONFIG;
  if (keyPath === "adoptedValues") return ADOPTED_VALUES;
  if (keyPath === "adoptedCa") return JSON.stringify(exampleCa());
  if (keyPath === "adoptedCa.certPem") return exampleCa().certPem;
  if (keyPath === "adoptedCa.keyPem") return exampleCa().keyPem;
  // Chart credentials (secrets.ldap.bindpassword, operator.pullSecret, ...): any text will do.
  if (/^(secretValues|siteSecretValues\.[a-z0-9-]+)\.[A-Za-z]/.test(keyPath)) return `example-secret-for-${keyPath}`;
  throw new Error(`no stand-in for the secret ${NAMESPACE}:${keyPath}: add one to test/examples.test.ts`);
}

type Yaml = unknown;
const isObj = (v: Yaml): v is Record<string, Yaml> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Replaces `{secure: ...}` with a stand-in; reports whether it found one. */
function decrypt(v: Yaml, keyPath: string): { value: Yaml; secret: boolean } {
  if (isObj(v) && Object.keys(v).length === 1 && typeof v["secure"] === "string") return { value: secretValue(keyPath), secret: true };
  if (isObj(v)) {
    let secret = false;
    const value = Object.fromEntries(Object.entries(v).map(([k, x]) => {
      const d = decrypt(x, `${keyPath}.${k}`);
      secret ||= d.secret;
      return [k, d.value];
    }));
    return { value, secret };
  }
  return { value: v, secret: false };
}

/** "# key: value" at a key's indentation -> "key: value" (prose comments never start with "word:"). */
export function uncomment(text: string): string {
  return text.replace(/^([ \t]*)# ([ \t]*[A-Za-z][\w.:-]*:(?:[ \t].*)?)$/gm, "$1$2");
}

/** What `pulumi config set --path` does: sets a value at a dotted path, making the maps on the way. */
function setPath(obj: Record<string, Yaml>, path: string[], value: Yaml): void {
  const [head, ...rest] = path;
  if (rest.length === 0) { obj[head!] = value; return; }
  const next = obj[head!];
  const child = isObj(next) ? next : (obj[head!] = {});
  setPath(child, rest, value);
}

/** The `tsb-ha:` config of a stack file as the program receives it, and its secret keys. */
export function programConfig(text: string): { raw: RawConfig; secretKeys: Set<string> } {
  const doc = yaml.load(text) as { config?: Record<string, Yaml> } | undefined;
  const raw: Record<string, string> = {};
  const objects: Record<string, Record<string, Yaml>> = {};
  const secretKeys = new Set<string>();
  for (const [fullKey, v] of Object.entries(doc?.config ?? {})) {
    assert.ok(fullKey.includes(":"), `config key ${fullKey} has no namespace (write ${NAMESPACE}:${fullKey})`);
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    const key = fullKey.slice(NAMESPACE.length + 1);
    const { value, secret } = decrypt(v, key);
    if (secret) secretKeys.add(key);
    if (isObj(value)) objects[key] = value;
    else raw[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  // Secrets the file's comments tell the user to set.
  for (const m of text.matchAll(/pulumi config set --secret (--path )?'?tsb-ha:([A-Za-z0-9_.-]+)'?/g)) {
    const keyPath = m[2]!;
    const [top, ...rest] = keyPath.split(".");
    secretKeys.add(top!);
    if (rest.length === 0) raw[top!] = secretValue(keyPath);
    else setPath((objects[top!] ??= {}), rest, secretValue(keyPath));
  }
  for (const [k, o] of Object.entries(objects)) raw[k] = JSON.stringify(o);
  return { raw, secretKeys };
}

/** The keys the program accepts, as its own messages list them ("... Allowed: a, b, c"). */
function allowedKeys(raw: RawConfig, secretKeys: Set<string>, where: "top" | "site" | "dns" | "tsb"): string[] {
  const probe = "zzzUnknownKeyzzz";
  const bad: Record<string, string | undefined> = { ...raw };
  const add = (key: string) => {
    const obj = JSON.parse(raw[key] ?? "{}") as Record<string, unknown>;
    if (key === "sites") {
      const first = Object.keys(obj)[0]!;
      obj[first] = { ...(obj[first] as object), [probe]: 1 };
    } else {
      obj[probe] = 1;
    }
    bad[key] = JSON.stringify(obj);
  };
  if (where === "top") bad[probe] = "1";
  else add(where === "site" ? "sites" : where);
  try {
    parseConfig(bad, secretKeys);
  } catch (e) {
    const m = /Allowed: ([\w, ]+)$/.exec((e as Error).message);
    assert.ok(m, `no list of allowed keys in: ${(e as Error).message}`);
    return m[1]!.split(", ");
  }
  assert.fail(`the program accepted an unknown ${where} key`);
}

describe("example stack files", () => {
  const files = exampleFiles();

  it("there are a two-site example at the root and a three-site Cloudflare example", () => {
    assert.ok(files.includes("Pulumi.example.yaml"), files.join(", "));
    const cloudflare = files.map((f) => programConfig(fs.readFileSync(path.join(ROOT, f), "utf8")).raw)
      .filter((raw) => (JSON.parse(raw["dns"] ?? "{}") as { provider?: string }).provider === "cloudflare");
    assert.ok(cloudflare.some((raw) => Object.keys(JSON.parse(raw["sites"] ?? "{}") as object).length === 3), "no three-site Cloudflare example");
  });

  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");

    it(`${file}: accepted by the program's validation, without warnings`, () => {
      const { raw, secretKeys } = programConfig(text);
      const { warnings } = parseConfig(raw, secretKeys);
      assert.deepEqual(warnings, []);
    });

    it(`${file}: still accepted with every commented key switched on`, () => {
      const { raw, secretKeys } = programConfig(uncomment(text));
      assert.deepEqual(parseConfig(raw, secretKeys).warnings, []);
    });

    it(`${file}: holds no real secret (no private key, no plaintext JWK, no kubeconfig contents)`, () => {
      assert.doesNotMatch(text, /PRIVATE KEY|"kty"|"d"\s*:|client-key-data|token:\s*\S{20,}/);
      for (const m of text.matchAll(/secure:\s*(\S+)/g)) assert.match(m[1]!, /EXAMPLE/, "a secure: value that is not a placeholder");
    });
  }

  it("Pulumi.example.yaml shows every key the program accepts (set or commented)", () => {
    const text = uncomment(fs.readFileSync(path.join(ROOT, "Pulumi.example.yaml"), "utf8"));
    const { raw, secretKeys } = programConfig(text);
    const sites = Object.values(JSON.parse(raw["sites"]!) as Record<string, Record<string, unknown>>);
    const shown = {
      top: Object.keys(raw),
      site: [...new Set(sites.flatMap((s) => Object.keys(s)))],
      dns: Object.keys(JSON.parse(raw["dns"]!) as object),
      tsb: Object.keys(JSON.parse(raw["tsb"]!) as object),
    };
    for (const where of ["top", "site", "dns", "tsb"] as const) {
      const missing = allowedKeys(raw, secretKeys, where).filter((k) => !shown[where].includes(k));
      assert.deepEqual(missing, [], `Pulumi.example.yaml does not show these ${where}-level keys: add each, commented with a one-line explanation`);
    }
  });

  it("there is an adoption example that is a valid first update: one site at step import, its record imported, secrets set", () => {
    const adopting = files.map((f) => ({ f, ...programConfig(fs.readFileSync(path.join(ROOT, f), "utf8")) }))
      .filter(({ raw }) => Object.values(JSON.parse(raw["sites"] ?? "{}") as Record<string, { adopt?: unknown }>).some((s) => s.adopt));
    assert.ok(adopting.length > 0, "no example sets sites.<s>.adopt");
    for (const { f, raw, secretKeys } of adopting) {
      const { config } = parseConfig(raw, secretKeys);
      assert.ok(secretKeys.has("adoptedValues") && secretKeys.has("adoptedCa"), `${f}: adoptedValues and adoptedCa are set as secrets`);
      // No history yet: the step machine must accept the file as the stack's first update.
      const plan = planAdoption(config, undefined);
      assert.ok(plan, f);
      assert.equal(plan.decision.step, "import", `${f}: the first update imports`);
      assert.ok(plan.importIds?.floatingRecord.includes(config.floatingFqdn), `${f}: the floating name's live record is imported`);
    }
  });

  it("uncomment switches on commented keys only, at their indentation", () => {
    assert.equal(uncomment("a:\n  # b: 1   # why\n  # Fix the thing\n# c:\n#   d: 2\n"), "a:\n  b: 1   # why\n  # Fix the thing\nc:\n  d: 2\n");
  });
});
