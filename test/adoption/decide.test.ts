// Adopting a hand-installed management plane (issue 13): the values each step gives the release keep
// every hand-set key, the new leaves keep every SAN the live ones had and chain to the adopted CA
// (checked by openssl), each preflight refusal fires on a recorded cluster state, and the steps go
// import -> activate -> add standby with an error for a skipped one.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import {
  adoptionImportIds, adoptionPreflight, adoptionStep, chainsTo, dnsNameCovers, floatingRecordImportId, mergeAdoptedValues,
  ownershipCommands, sansToKeep, standbyValuesFromExisting, trustBundleDelta,
  type AdoptionConfigView, type AdoptionHistoryView, type Refusal,
} from "../../lib/adoption/decide";
import { changedLeafPaths, deepMerge, leafPaths, parseHelmValues, type Values } from "../../lib/config/helmValues";
import type { AdoptStep } from "../../lib/config/adoption";
import type { RecordedAdoptionState } from "../../lib/adoption/read";
import { ConfigError } from "../../lib/config/errors";
import { ALL_VALUES, idpValues, sandboxValues } from "../fixtures/adoptionValues";

const CERTS = { tsbCert: "<new tsb PEM>", tsbKey: "<new tsb key>", xcpCert: "<new xcp PEM>", xcpKey: "<new xcp key>", rootCa: "<adopted CA PEM>" };
const ACTIVE = { active: { exposeEmbeddedPostgresInFrontEnvoy: true } };
const STANDBY = { standby: { activeMpSynchronizationEndpoint: { host: "mp1.example.com", port: 443, selfSigned: true } } };

/** The paths step activate may touch; everything else must come back byte for byte. */
const ACTIVATE_MAY_CHANGE = ["secrets.keep", "secrets.tsb.cert", "secrets.tsb.key", "secrets.xcp.autoGenerateCerts",
  "secrets.xcp.central.cert", "secrets.xcp.central.key", "secrets.xcp.rootca", "spec.highAvailability"];
const under = (p: string, prefixes: string[]): boolean => prefixes.some((x) => p === x || p.startsWith(`${x}.`) || p.startsWith(`${x}[`));

/** Independent of the module: the value at a dotted path with `[i]` indexes. */
function at(v: unknown, p: string): unknown {
  const parts = p.match(/[^.[\]]+|\[\d+\]/g) ?? [];
  let cur: unknown = v;
  for (const part of parts) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = part.startsWith("[") ? (cur as unknown[])[Number(part.slice(1, -1))] : (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Seeded random values trees: nested maps, lists, strings, numbers, booleans, null, empty maps. */
function randomTree(seed: number): Values {
  let s = seed >>> 0;
  const rnd = (): number => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  const keys = ["secrets", "spec", "tsb", "xcp", "central", "cert", "key", "keep", "highAvailability", "components", "overlays", "a", "b", "c"];
  const node = (depth: number): unknown => {
    const r = rnd();
    if (depth > 3 || r < 0.3) return [() => "text", () => Math.floor(rnd() * 100), () => rnd() < 0.5, () => null, () => ({})][Math.floor(rnd() * 5)]!();
    if (r < 0.45) return Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => node(depth + 1));
    const o: Values = {};
    for (let i = 0; i < 1 + Math.floor(rnd() * 4); i++) o[keys[Math.floor(rnd() * keys.length)]!] = node(depth + 1);
    return o;
  };
  const tree = node(0);
  return typeof tree === "object" && tree !== null && !Array.isArray(tree) ? (tree as Values) : { a: tree };
}

describe("parseHelmValues", () => {
  it("reads `helm get values -o yaml` and `-o json` output to the same values, so step import hands Helm exactly what it stored", () => {
    for (const [name, v] of Object.entries(ALL_VALUES)) {
      assert.deepEqual(parseHelmValues(yaml.dump(v)), v, `${name} yaml`);
      assert.deepEqual(parseHelmValues(JSON.stringify(v)), v, `${name} json`);
    }
  });

  it("refuses the plain `helm get values` output (its header would become a value) and non-maps, without echoing the text", () => {
    const text = `USER-SUPPLIED VALUES:\n${yaml.dump(idpValues)}`;
    assert.throws(() => parseHelmValues(text), (e: unknown) => e instanceof ConfigError && /-o yaml/.test(e.message) && !e.message.includes("<admin-password>"));
    for (const bad of ["null", "- a\n- b", "a: [", ""]) {
      assert.throws(() => parseHelmValues(bad), (e: unknown) => e instanceof ConfigError && e.message.startsWith("tsb-ha:adoptedValues"), bad);
    }
  });

  it("tells which output was given and the command for the right one, showing the value only as a placeholder", () => {
    const message = (text: string): string => { try { parseHelmValues(text, "sites.mp1.adoptedValues"); } catch (e) { assert.ok(e instanceof ConfigError); return e.message; } return assert.fail(text); };
    const cases: Array<[string, RegExp]> = [
      [`USER-SUPPLIED VALUES:\n${yaml.dump(idpValues)}`, /plain `helm get values` output/],
      ["a: [", /is not YAML or JSON/],
      ["- a\n- b", /is not a map of values.*`spec`/],
    ];
    for (const [text, what] of cases) {
      const m = message(text);
      assert.match(m, /^tsb-ha:sites\.mp1\.adoptedValues /, m);
      assert.match(m, what);
      assert.ok(m.includes("[secret]") && !m.includes("- a") && !m.includes("USER-SUPPLIED"), m);
      if (!/not a map/.test(m)) assert.ok(m.includes("helm get values <release> -n <namespace> -o yaml"), m);
    }
  });

  it("accepts values that only mention the plain output's header, and keeps date-like and merge-key text as written", () => {
    assert.deepEqual(parseHelmValues('note: "copied from USER-SUPPLIED VALUES: above"\n'), { note: "copied from USER-SUPPLIED VALUES: above" });
    // A YAML timestamp or merge key must not turn into a Date or a merged map: it goes back to Helm as it was stored.
    assert.deepEqual(parseHelmValues("image:\n  tag: 2024-01-01\nbase: &b {x: 1}\nother:\n  <<: *b\n"), { image: { tag: "2024-01-01" }, base: { x: 1 }, other: { "<<": { x: 1 } } });
  });
});

describe("values trees (leafPaths, changedLeafPaths, deepMerge)", () => {
  it("names list items by index and keeps empty maps and lists as leaves, so a removed empty block is reported", () => {
    const tree = { a: { b: [1, { c: "x" }], e: [] }, m: {}, n: null };
    assert.deepEqual([...leafPaths(tree)], [["a.b[0]", 1], ["a.b[1].c", "x"], ["a.e", []], ["m", {}], ["n", null]]);
    assert.deepEqual([...leafPaths({})], [], "an empty root map has no leaves");
    assert.deepEqual(changedLeafPaths(tree, { a: { b: [1, { c: "y" }], e: [] }, n: null }), ["a.b[1].c", "m"]);
    assert.deepEqual(changedLeafPaths({ l: [1, 2] }, { l: [1] }), ["l[1]"]);
    assert.deepEqual(changedLeafPaths({ l: [] }, { l: [], k: {} }), ["k"]);
  });

  it("deepMerge merges maps key by key and replaces lists and scalars whole, without touching its inputs", () => {
    const base = { a: { keep: 1, list: [1, 2, 3], over: "old" }, b: "scalar" };
    const overlay = { a: { list: [9], over: "new", add: true }, b: { now: "map" } };
    const before = structuredClone(base);
    const merged = deepMerge(base, overlay);
    assert.deepEqual(merged, { a: { keep: 1, list: [9], over: "new", add: true }, b: { now: "map" } });
    assert.deepEqual(base, before);
    (merged["a"] as Values)["keep"] = 2;
    assert.equal(base.a.keep, 1);
  });
});

describe("mergeAdoptedValues (step activate)", () => {
  it("keeps every leaf of the installed values outside the HA block and the leaf certificates, over the public installers' shapes", () => {
    for (const [name, existing] of Object.entries(ALL_VALUES)) {
      const before = structuredClone(existing);
      const { values } = mergeAdoptedValues(existing, ACTIVE, CERTS);
      assert.deepEqual(existing, before, `${name}: the input is not mutated`);
      let kept = 0;
      for (const [p, v] of leafPaths(existing)) {
        if (under(p, ACTIVATE_MAY_CHANGE)) continue;
        assert.deepEqual(at(values, p), v, `${name}: ${p} kept`);
        kept++;
      }
      assert.ok(kept >= 8, `${name}: the check covered ${kept} leaves`);
      for (const p of leafPaths(values).keys()) assert.ok(leafPaths(existing).has(p) || under(p, ACTIVATE_MAY_CHANGE), `${name}: ${p} is new`);
    }
  });

  it("sets the active block, the new leaves and the adopted CA, and reports exactly the paths whose value changed", () => {
    for (const [name, existing] of Object.entries(ALL_VALUES)) {
      const { values, changedPaths } = mergeAdoptedValues(existing, ACTIVE, CERTS);
      assert.equal(at(values, "spec.highAvailability.active.exposeEmbeddedPostgresInFrontEnvoy"), true, name);
      assert.equal(at(values, "spec.highAvailability.standby"), undefined, `${name}: no standby block beside the active one`);
      assert.equal(at(values, "secrets.tsb.cert"), CERTS.tsbCert);
      assert.equal(at(values, "secrets.xcp.central.key"), CERTS.xcpKey);
      assert.equal(at(values, "secrets.xcp.rootca"), CERTS.rootCa);
      assert.equal(at(values, "secrets.xcp.autoGenerateCerts"), false);
      assert.equal(at(values, "secrets.keep"), true, `${name}: chart-made secrets (iam-signing-key) are kept`);
      assert.equal(at(values, "secrets.tsb.key"), CERTS.tsbKey);
      assert.equal(at(values, "secrets.xcp.central.cert"), CERTS.xcpCert);
      const all = new Set([...leafPaths(existing).keys(), ...leafPaths(values).keys()]);
      const differ = [...all].filter((p) => JSON.stringify(at(existing, p)) !== JSON.stringify(at(values, p))).sort();
      assert.deepEqual(changedPaths, differ, name);
      assert.ok(changedPaths.every((p) => under(p, ACTIVATE_MAY_CHANGE)), `${name}: ${changedPaths.join(", ")}`);
    }
    assert.ok(mergeAdoptedValues(idpValues, ACTIVE, CERTS).changedPaths.includes("spec.highAvailability.standby.activeMpSynchronizationEndpoint.host"), "the left-over standby block is reported as removed");
    assert.ok(mergeAdoptedValues(sandboxValues, ACTIVE, CERTS).changedPaths.includes("secrets.xcp.autoGenerateCerts"));
  });

  it("keeps every other leaf of 300 random values trees (lists replaced whole, never merged by index)", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const existing = randomTree(seed);
      const { values, changedPaths } = mergeAdoptedValues(existing, ACTIVE, CERTS);
      for (const [p, v] of leafPaths(existing)) {
        if (!under(p, ACTIVATE_MAY_CHANGE) && !changedPaths.includes(p)) assert.deepEqual(at(values, p), v, `seed ${seed}: ${p}`);
      }
      // A changed path outside the allowed set can only be a scalar that sat where the overlay needs a map.
      for (const p of changedPaths.filter((x) => !under(x, ACTIVATE_MAY_CHANGE))) {
        assert.ok(ACTIVATE_MAY_CHANGE.some((a) => a.startsWith(`${p}.`)), `seed ${seed}: ${p} changed`);
      }
    }
  });
});

describe("standbyValuesFromExisting (step add standby)", () => {
  it("starts from the installed values without the active's leaves, HA block and CA key, with the standby's own", () => {
    for (const [name, existing] of Object.entries(ALL_VALUES)) {
      const { values, changedPaths } = standbyValuesFromExisting(existing, STANDBY, CERTS);
      assert.equal(at(values, "spec.highAvailability.active"), undefined, name);
      assert.deepEqual(at(values, "spec.highAvailability"), STANDBY, name);
      assert.equal(at(values, "secrets.tsb.cert"), CERTS.tsbCert);
      assert.equal(at(values, "secrets.xcp.rootcakey"), undefined, `${name}: the CA key is not copied to the standby`);
      const text = JSON.stringify(values);
      for (const old of ["<old tsb-certs PEM>", "<old tsb-certs key>", "<old xcp-central PEM>", "<old xcp-central key>", "<old root CA key>"]) assert.ok(!text.includes(old), `${name}: ${old}`);
      for (const [p, v] of leafPaths(existing)) {
        if (!under(p, [...ACTIVATE_MAY_CHANGE, "secrets.xcp.rootcakey"])) assert.deepEqual(at(values, p), v, `${name}: ${p}`);
      }
      assert.ok(changedPaths.every((p) => under(p, [...ACTIVATE_MAY_CHANGE, "secrets.xcp.rootcakey"])), name);
    }
    assert.deepEqual(at(standbyValuesFromExisting(idpValues, STANDBY, CERTS).values, "spec.identityProvider"), idpValues.spec.identityProvider);
    assert.deepEqual(at(standbyValuesFromExisting(idpValues, STANDBY, CERTS).values, "spec.tokenIssuer"), idpValues.spec.tokenIssuer);
  });

  it("works from installs that set few values: no secrets, no xcp or central block, no spec", () => {
    const own = { tsb: { cert: CERTS.tsbCert, key: CERTS.tsbKey }, xcp: { autoGenerateCerts: false, central: { cert: CERTS.xcpCert, key: CERTS.xcpKey }, rootca: CERTS.rootCa } };
    const shapes: Values[] = [
      { spec: { hub: "registry.example.com/tsb", organization: "acme" } },
      { secrets: { tsb: { adminPassword: "<admin-password>" } } },
      { secrets: { xcp: { autoGenerateCerts: true }, postgres: { password: "<db-password>" } } },
      { secrets: { tsb: "<odd>", xcp: { central: "<odd>" } }, image: { tag: "1.10.0" } },
    ];
    for (const existing of shapes) {
      const { values } = standbyValuesFromExisting(existing, STANDBY, CERTS);
      assert.deepEqual(at(values, "secrets.tsb.cert"), own.tsb.cert, JSON.stringify(existing));
      assert.deepEqual(at(values, "secrets.xcp"), own.xcp, JSON.stringify(existing));
      assert.deepEqual(at(values, "spec.highAvailability"), STANDBY);
      for (const [p, v] of leafPaths(existing)) {
        if (!under(p, [...ACTIVATE_MAY_CHANGE, "secrets.tsb", "secrets.xcp"])) assert.deepEqual(at(values, p), v, p);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Certificates, made and checked by the openssl CLI

const PERMANENT = "mp1.acme.example.com";
const FLOATING = "tsb.acme.example.com";
let dir = "";
const openssl = (...args: string[]): string => execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const read = (f: string): string => readFileSync(path.join(dir, f), "utf8");
function makeCa(id: string, signer?: string): void {
  if (!signer) {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${id}.key`, "-out", `${id}.crt`, "-days", "3650",
      "-subj", `/CN=${id}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    return;
  }
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${id}.key`, "-out", `${id}.csr`, "-subj", `/CN=${id}`);
  writeFileSync(path.join(dir, `${id}.ext`), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
  openssl("x509", "-req", "-in", `${id}.csr`, "-CA", `${signer}.crt`, "-CAkey", `${signer}.key`, "-CAcreateserial", "-out", `${id}.crt`, "-days", "3650", "-extfile", `${id}.ext`);
}
/** A leaf for `sans` (openssl syntax, e.g. DNS:x, IP:1.2.3.4, URI:spiffe://...) signed by `ca`. */
function makeLeaf(id: string, ca: string, cn: string, sans: string[]): string {
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${id}.key`, "-out", `${id}.csr`, "-subj", `/CN=${cn}`);
  writeFileSync(path.join(dir, `${id}.ext`), `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=critical,CA:FALSE\n`);
  openssl("x509", "-req", "-in", `${id}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${id}.crt`, "-days", "30", "-extfile", `${id}.ext`);
  return read(`${id}.crt`);
}
const LIVE_TSB_SANS = ["DNS:Tsb.Acme.Example.com", "DNS:tsb-old.acme.example.com", "IP:10.0.0.7"];
const LIVE_XCP_SANS = [`DNS:${FLOATING}`, "DNS:central.xcp.tetrate.io", "URI:spiffe://xcp.tetrate.io/central", "IP:10.0.0.7", "IP:fd00::7"];

describe("certificates (openssl)", () => {
  const pem: Record<string, string> = {};
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "adoption-"));
    makeCa("ca");
    makeCa("other");
    makeCa("inter", "ca");
    pem["ca"] = read("ca.crt");
    pem["other"] = read("other.crt");
    pem["liveTsb"] = makeLeaf("live-tsb", "ca", FLOATING, LIVE_TSB_SANS);
    pem["liveXcp"] = makeLeaf("live-xcp", "ca", "xcp", LIVE_XCP_SANS);
    pem["viaInter"] = makeLeaf("via-inter", "inter", FLOATING, [`DNS:${FLOATING}`]) + read("inter.crt");
    // An impostor: same subject as the adopted CA, another key, no key identifiers to tell them apart by name.
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "impostor.key", "-out", "impostor.crt", "-days", "30",
      "-subj", "/CN=ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=none");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "forged.key", "-out", "forged.csr", "-subj", `/CN=${FLOATING}`);
    writeFileSync(path.join(dir, "forged.ext"), `subjectAltName=DNS:${FLOATING}\nauthorityKeyIdentifier=none\nsubjectKeyIdentifier=none\n`);
    openssl("x509", "-req", "-in", "forged.csr", "-CA", "impostor.crt", "-CAkey", "impostor.key", "-CAcreateserial", "-out", "forged.crt", "-days", "30", "-extfile", "forged.ext");
    pem["forged"] = read("forged.crt");
    // Same key as the intermediate, another name, signed by the adopted CA: openssl does not take it as the leaf's issuer.
    openssl("req", "-new", "-key", "inter.key", "-subj", "/CN=renamed", "-out", "renamed.csr");
    openssl("x509", "-req", "-in", "renamed.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "renamed.crt", "-days", "30", "-extfile", "inter.ext");
    pem["viaRenamed"] = makeLeaf("via-inter", "inter", FLOATING, [`DNS:${FLOATING}`]) + read("renamed.crt");
    // Two CAs cross-signed by each other: a bundle that loops and never reaches the adopted CA.
    for (const x of ["loopA", "loopB"]) {
      openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${x}.key`, "-out", `${x}0.crt`, "-days", "30", "-subj", `/CN=${x}`, "-addext", "basicConstraints=critical,CA:TRUE");
      openssl("req", "-new", "-key", `${x}.key`, "-subj", `/CN=${x}`, "-out", `${x}.csr`);
    }
    for (const [x, by] of [["loopA", "loopB"], ["loopB", "loopA"]] as const) {
      openssl("x509", "-req", "-in", `${x}.csr`, "-CA", `${by}0.crt`, "-CAkey", `${by}.key`, "-CAcreateserial", "-out", `${x}.crt`, "-days", "30", "-extfile", "inter.ext");
    }
    pem["loop"] = read("loopA.crt") + read("loopB.crt");
    // URIs that differ only in case (paths are case-sensitive) and one with a comma (node prints it quoted).
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "uris.key", "-out", "uris.csr", "-subj", "/CN=uris");
    writeFileSync(path.join(dir, "uris.ext"), `subjectAltName=@alt\n[alt]\nURI.1=spiffe://xcp.tetrate.io/Central\nURI.2=spiffe://xcp.tetrate.io/a,b\nDNS.1=${PERMANENT.toUpperCase()}\n`);
    openssl("x509", "-req", "-in", "uris.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "uris.crt", "-days", "30", "-extfile", "uris.ext");
    pem["uris"] = read("uris.crt");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("new leaves signed with the computed SANs keep every old SAN, add both names, and pass openssl verify against the adopted CA only", () => {
    for (const [id, live, liveSans] of [["new-tsb", pem["liveTsb"]!, LIVE_TSB_SANS], ["new-xcp", pem["liveXcp"]!, LIVE_XCP_SANS]] as const) {
      const sans = sansToKeep([live], PERMANENT, FLOATING);
      assert.equal(sans.dnsNames[0], PERMANENT, "the permanent name comes first (the CN)");
      // What tls.LocallySignedCert would be given, signed here by openssl with the adopted CA.
      const spec = [...sans.dnsNames.map((d) => `DNS:${d}`), ...sans.ipAddresses.map((ip) => `IP:${ip}`), ...sans.uris.map((u) => `URI:${u}`)];
      makeLeaf(id, "ca", PERMANENT, spec);
      for (const purpose of ["sslserver", "sslclient"]) {
        assert.match(openssl("verify", "-CAfile", "ca.crt", "-purpose", purpose, "-x509_strict", `${id}.crt`), /: OK/);
      }
      assert.throws(() => openssl("verify", "-CAfile", "other.crt", `${id}.crt`), Error, "another CA does not verify it");
      const liveHosts = liveSans.filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4));
      for (const host of [PERMANENT, FLOATING, ...liveHosts]) {
        assert.match(openssl("verify", "-CAfile", "ca.crt", "-verify_hostname", host, `${id}.crt`), /: OK/, host);
      }
      // Old SANs, read back by openssl from the new certificate (IPv6 printed in full by openssl).
      const text = openssl("x509", "-in", `${id}.crt`, "-noout", "-ext", "subjectAltName").toLowerCase();
      for (const s of liveSans) {
        const [kind, value] = [s.slice(0, s.indexOf(":")), s.slice(s.indexOf(":") + 1).toLowerCase()];
        const shown = kind === "IP" && value.includes(":") ? "fd00:0:0:0:0:0:0:7" : value;
        assert.ok(text.includes(`${kind === "IP" ? "ip address" : kind.toLowerCase()}:${shown}`), `${id}: ${s} kept (${text.trim()})`);
      }
      assert.ok(text.includes(`dns:${PERMANENT}`) && text.includes(`dns:${FLOATING}`));
    }
  });

  it("lists a DNS name once whatever its case, and unions the SANs of several live certificates", () => {
    const sans = sansToKeep([pem["liveTsb"]!, pem["liveXcp"]!], PERMANENT, FLOATING);
    assert.deepEqual(sans.dnsNames.map((d) => d.toLowerCase()), [PERMANENT, FLOATING, "tsb-old.acme.example.com", "central.xcp.tetrate.io"]);
    assert.equal(sans.ipAddresses.length, 2, sans.ipAddresses.join(", "));
    assert.deepEqual(sans.uris, ["spiffe://xcp.tetrate.io/central"]);
    assert.throws(() => sansToKeep(["not a pem"], PERMANENT, FLOATING), /live certificate 1 of 1 holds no PEM certificate/);
    assert.throws(() => sansToKeep([pem["liveTsb"]!, "not a pem"], PERMANENT, FLOATING), /live certificate 2 of 2 holds no PEM certificate/);
  });

  it("keeps URIs that differ in case or hold a comma, each whole, and folds the permanent and floating names like any other", () => {
    const sans = sansToKeep([pem["liveXcp"]!, pem["uris"]!], PERMANENT, FLOATING);
    assert.deepEqual(sans.uris, ["spiffe://xcp.tetrate.io/central", "spiffe://xcp.tetrate.io/Central", "spiffe://xcp.tetrate.io/a,b"]);
    assert.deepEqual(sans.dnsNames, [PERMANENT, FLOATING, "central.xcp.tetrate.io"]);
    assert.deepEqual(sansToKeep([], PERMANENT.toUpperCase(), PERMANENT).dnsNames, [PERMANENT.toUpperCase()]);
  });

  it("dnsNameCovers: a floating name served under a wildcard counts as served, one label deep only", () => {
    assert.equal(dnsNameCovers("*.acme.example.com", FLOATING), true);
    assert.equal(dnsNameCovers("TSB.acme.example.com", FLOATING), true);
    assert.equal(dnsNameCovers("*.example.com", FLOATING), false);
    assert.equal(dnsNameCovers("*.acme.example.com", "acme.example.com"), false);
    assert.equal(dnsNameCovers("*.ACME.example.com", "Tsb.Acme.Example.COM"), true);
    assert.equal(dnsNameCovers("*.acme.example.org", FLOATING), false);
    assert.equal(dnsNameCovers("xsb.acme.example.com", FLOATING), false, "a name that differs in its first character");
    assert.equal(dnsNameCovers(".sb.acme.example.com", FLOATING), false);
  });

  it("chainsTo: a leaf of the CA, or through an intermediate in its bundle; not another CA's, not with the intermediate missing", () => {
    assert.equal(chainsTo(pem["liveTsb"]!, pem["ca"]!), true);
    assert.equal(chainsTo(pem["viaInter"]!, pem["ca"]!), true);
    assert.equal(chainsTo(pem["viaInter"]!.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n", pem["ca"]!), false);
    assert.equal(chainsTo(pem["liveTsb"]!, pem["other"]!), false);
    assert.equal(chainsTo(pem["forged"]!, pem["ca"]!), false, "a matching issuer name without the CA's signature");
  });

  it("chainsTo: an intermediate needs the leaf's issuer name as well as its key (as openssl verify), a looping bundle ends false, nothing to read is false", () => {
    assert.throws(() => openssl("verify", "-CAfile", "ca.crt", "-untrusted", "renamed.crt", "via-inter.crt"), Error, "openssl refuses the renamed intermediate");
    assert.equal(chainsTo(pem["viaRenamed"]!, pem["ca"]!), false);
    assert.equal(chainsTo(pem["loop"]!, pem["ca"]!), false);
    assert.equal(chainsTo(pem["liveTsb"]!, "not a pem"), false);
    assert.equal(chainsTo("", pem["ca"]!), false);
  });

  describe("adoptionPreflight over a recorded cluster state", () => {
    const OBJECTS = ["Deployment/tsb-operator-management-plane", "Secret/tsb-certs", "Secret/xcp-central-cert", "ManagementPlane/managementplane", "ClusterRole/tsb-operator-management-plane-tsb"];
    const good = (): RecordedAdoptionState => ({
      site: "mp1",
      expect: { release: "tsb-managementplane", namespace: "tsb", chartVersion: "1.10.0", organization: "acme", floatingFqdn: FLOATING, frontEnvoyPort: 8443 },
      release: { chartVersion: "1.10.0", status: "deployed" },
      managementPlaneSpec: structuredClone(idpValues.spec),
      crdSpecProperties: ["hub", "organization", "components", "highAvailability", "tokenIssuer", "identityProvider"],
      tsbCertsPem: pem["liveTsb"]!,
      xcpCentralCertPem: pem["liveXcp"]!,
      signingKeySecretExists: true,
      caCertPem: pem["ca"]!,
      objects: OBJECTS.map((o) => {
        const [kind, name] = o.split("/") as [string, string];
        return {
          kind, name, ...(kind === "ClusterRole" ? {} : { namespace: "tsb" }),
          labels: { "app.kubernetes.io/managed-by": "Helm" },
          annotations: { "meta.helm.sh/release-name": "tsb-managementplane", "meta.helm.sh/release-namespace": "tsb" },
        };
      }),
    });
    const codes = (rs: Refusal[]): string[] => rs.map((r) => r.code);
    const spec = (s: RecordedAdoptionState): Values => s.managementPlaneSpec!;

    it("refuses nothing for a Helm-installed MP on the embedded Postgres whose certificates chain to the given CA", () => {
      assert.deepEqual(adoptionPreflight(good()), []);
    });

    const cases: Array<[string, Refusal["code"], (s: RecordedAdoptionState) => void, RegExp]> = [
      ["no release", "release-missing", (s) => { delete s.release; }, /helm has no release tsb\/tsb-managementplane\. .*helm ls -A/],
      ["another version", "release-version", (s) => { s.release!.chartVersion = "1.9.3"; }, /runs chart 1\.9\.3, config says 1\.10\.0\. .*set tsb-ha:tsb\.version to 1\.9\.3/],
      ["pending upgrade", "release-status", (s) => { s.release!.status = "pending-upgrade"; }, /is pending-upgrade, not deployed\. .*helm rollback tsb-managementplane/],
      ["no CR", "cr-missing", (s) => { delete s.managementPlaneSpec; }, /ManagementPlane CR is missing/],
      ["other organisation", "organization", (s) => { spec(s)["organization"] = "tetrate"; }, /serves organization "tetrate", config says "acme"\. .*tsb-ha:tsb\.organization to "tetrate"/],
      ["another front envoy port", "front-envoy-port", (s) => { s.expect.frontEnvoyPort = 443; }, /front envoy listens on 8443, config says 443\. .*set tsb-ha:tsb\.frontEnvoyPort to 8443$/],
      ["front envoy port unset", "front-envoy-port", (s) => { s.expect.frontEnvoyPort = 443; delete (spec(s)["components"] as Values)["frontEnvoy"]; },
        /listens on 8443 \(spec\.components\.frontEnvoy\.port is unset: TSB's default\), config says 443\. The API check after activate and the standby's sync would call a port nothing serves: set tsb-ha:tsb\.frontEnvoyPort to 8443$/],
      ["no components at all", "front-envoy-port", (s) => { s.expect.frontEnvoyPort = 443; delete spec(s)["components"]; }, /listens on 8443 \(spec\.components\.frontEnvoy\.port is unset/],
      ["port given as text", "front-envoy-port", (s) => { (spec(s)["components"] as { frontEnvoy: Values }).frontEnvoy["port"] = "8443"; }, /listens on "8443", config says 8443/],
      ["external Postgres", "external-postgres", (s) => { spec(s)["dataStore"] = { postgres: { host: "pg.example.com", port: 5432, name: "tsb" } }; }, /spec\.dataStore is set: the MP uses an external Postgres/],
      ["no highAvailability in the CRD", "no-high-availability", (s) => { s.crdSpecProperties = ["hub", "organization"]; }, /has no spec\.highAvailability.*Upgrade TSB/],
      ["CRD unreadable", "no-high-availability", (s) => { delete s.crdSpecProperties; }, /could not be read/],
      ["key in tsb-certs", "signing-key-in-tsb-certs", (s) => { (spec(s)["tokenIssuer"] as { jwt: Values }).jwt["signingKeysSecret"] = "tsb-certs"; }, /signingKeysSecret is tsb-certs.*multiple-iam-keys/],
      ["key nowhere", "signing-key-unknown", (s) => { delete spec(s)["tokenIssuer"]; s.signingKeySecretExists = false; }, /kubectl get secret -n tsb iam-signing-key/],
      ["TSB issues tsb-certs", "tsb-cert-automation", (s) => { spec(s)["certIssuer"] = { tsbCerts: {} }; }, /spec\.certIssuer\.tsbCerts is set/],
      ["tsb-certs from another CA", "cert-chain", (s) => { s.caCertPem = pem["other"]!; }, /live tsb-certs does not chain to tsb-ha:adoptedCa/],
      ["xcp-central-cert missing", "cert-missing", (s) => { delete s.xcpCentralCertPem; }, /Secret tsb\/xcp-central-cert has no tls\.crt/],
      ["floating name not on the cert", "floating-not-served", (s) => { s.expect.floatingFqdn = "mp.other.example.com"; }, /does not name mp\.other\.example\.com.*spec\.managementPlane\.host/],
      ["owned by another release", "owned-by-other-release", (s) => { s.objects[1]!.annotations!["meta.helm.sh/release-name"] = "mp"; }, /Secret\/tsb-certs belongs to helm release tsb\/mp/],
    ];
    for (const [name, code, breakIt, message] of cases) {
      it(`refuses: ${name} (${code}), naming the fix`, () => {
        const s = good();
        breakIt(s);
        const rs = adoptionPreflight(s);
        // The other CA fails both live certificates; every other break is one refusal.
        assert.deepEqual(codes(rs), code === "cert-chain" ? [code, code] : [code]);
        assert.match(rs[0]!.message, /^mp1: /);
        assert.match(rs.map((r) => r.message).join("\n"), message);
      });
    }

    it("prints the exact kubectl label and annotate commands for objects installed with tctl (no Helm metadata)", () => {
      const s = good();
      for (const o of s.objects.slice(0, 4)) { delete o.labels; delete o.annotations; }
      s.objects[4]!.labels = {};
      const rs = adoptionPreflight(s);
      assert.deepEqual(codes(rs), ["helm-ownership"]);
      const lines = rs[0]!.message.split("\n").slice(1);
      assert.equal(lines.length, 10);
      assert.ok(lines.includes("kubectl label -n tsb deployment/tsb-operator-management-plane app.kubernetes.io/managed-by=Helm --overwrite"), lines.join("\n"));
      assert.ok(lines.includes("kubectl annotate -n tsb secret/tsb-certs meta.helm.sh/release-name=tsb-managementplane meta.helm.sh/release-namespace=tsb --overwrite"));
      assert.ok(lines.includes("kubectl label clusterrole/tsb-operator-management-plane-tsb app.kubernetes.io/managed-by=Helm --overwrite"), "no -n for a cluster-scoped object");
      assert.deepEqual(ownershipCommands([], "mp", "tsb"), []);
    });

    const only = (s: RecordedAdoptionState, code: Refusal["code"]): string => {
      const rs = adoptionPreflight(s);
      assert.deepEqual(codes(rs), [code], rs.map((r) => r.message).join("\n"));
      return rs[0]!.message;
    };

    it("each refusal's message names the keys to set, the commands to run and the docs, besides what is wrong", () => {
      let s = good();
      delete s.release;
      let m = only(s, "release-missing");
      for (const part of ["tsb-ha:sites.mp1.adopt.release", "tctl", "setup/migrate-tctl-to-helm", "helm upgrade --install"]) assert.ok(m.includes(part), `${part}: ${m}`);
      s = good();
      spec(s)["organization"] = "tetrate";
      m = only(s, "organization");
      assert.match(m, /serves organization "tetrate", config says "acme"/);
      assert.match(m, /disconnects every control plane.*tsb-ha:tsb\.organization to "tetrate"/);
      s = good();
      spec(s)["dataStore"] = { postgres: { host: "pg.example.com" } };
      assert.match(only(s, "external-postgres"), /external Postgres.*Not supported by this program.*replicate the external database.*DR guide/);
      s = good();
      delete spec(s)["tokenIssuer"];
      s.signingKeySecretExists = false;
      assert.match(only(s, "signing-key-unknown"), /neither spec\.tokenIssuer\.jwt\.signingKeysSecret nor Secret iam-signing-key .*standby cannot get a copy.*kubectl get managementplane -n tsb/);
      s = good();
      spec(s)["certIssuer"] = { tsbCerts: {} };
      assert.match(only(s, "tsb-cert-automation"), /overwrite the leaf.*Remove spec\.certIssuer\.tsbCerts in a reviewed helm upgrade first/);
      s = good();
      s.xcpCentralCertPem = pem["other"]!;
      m = only(s, "cert-chain");
      for (const part of ["xcp-central-cert does not chain to tsb-ha:adoptedCa", "kubectl get secret -n tsb xcp-central-cert", "-noout -issuer", "trust-bundle route"]) assert.ok(m.includes(part), `${part}: ${m}`);
      s = good();
      delete s.xcpCentralCertPem;
      assert.match(only(s, "cert-missing"), /kubectl get secret -n tsb xcp-central-cert/);
    });

    it("no-high-availability names the chart that runs, or the configured one when Helm has no release", () => {
      const s = good();
      s.crdSpecProperties = ["hub"];
      s.release!.chartVersion = "1.9.3";
      const rs = adoptionPreflight(s);
      assert.deepEqual(codes(rs), ["release-version", "no-high-availability"]);
      assert.match(rs[1]!.message, /CRD of chart 1\.9\.3 has no spec\.highAvailability/);
      delete s.release;
      const again = adoptionPreflight(s).find((r) => r.code === "no-high-availability");
      assert.match(again!.message, /CRD of chart 1\.10\.0 has no spec\.highAvailability/);
    });

    it("accepts what is fine as it is: an empty dataStore, a signing key in its own Secret, a missing tsb-certs refused once", () => {
      let s = good();
      delete (spec(s)["components"] as Values)["frontEnvoy"];
      assert.deepEqual(adoptionPreflight(s), [], "an unset port is TSB's default 8443, which config names");
      s = good();
      spec(s)["dataStore"] = {};
      assert.deepEqual(adoptionPreflight(s), [], "an empty dataStore is the embedded Postgres");
      s = good();
      s.signingKeySecretExists = false;
      assert.deepEqual(adoptionPreflight(s), [], "signingKeysSecret names where the key is");
      s = good();
      delete spec(s)["tokenIssuer"];
      assert.deepEqual(adoptionPreflight(s), [], "Secret iam-signing-key holds the key");
      s = good();
      delete s.tsbCertsPem;
      assert.match(only(s, "cert-missing"), /Secret tsb\/tsb-certs has no tls\.crt/);
    });

    it("an unreadable tsb-certs is refused as not chaining, never taken as fine", () => {
      const s = good();
      s.tsbCertsPem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
      const rs = adoptionPreflight(s);
      assert.deepEqual(codes(rs), ["cert-chain", "floating-not-served"]);
      assert.match(rs[0]!.message, /live tsb-certs does not chain/);
    });

    it("tells apart objects of another release (by name or namespace) from objects missing part of Helm's metadata", () => {
      let s = good();
      s.objects[1]!.annotations!["meta.helm.sh/release-namespace"] = "other";
      let m = only(s, "owned-by-other-release");
      assert.match(m, /Secret\/tsb-certs belongs to helm release other\/tsb-managementplane, not tsb\/tsb-managementplane/);
      assert.ok(m.includes("Check tsb-ha:sites.mp1.adopt.release") && m.includes("do not relabel"), m);
      s = good();
      s.objects[1]!.annotations = { "meta.helm.sh/release-name": "mp" };
      m = only(s, "owned-by-other-release");
      assert.ok(m.includes("helm release ?/mp"), `an unknown namespace is shown as such: ${m}`);
      s = good();
      s.objects[1]!.annotations = { "meta.helm.sh/release-namespace": "other" };
      assert.ok(only(s, "owned-by-other-release").includes("helm release other/?"));
      for (const drop of ["meta.helm.sh/release-name", "meta.helm.sh/release-namespace"]) {
        s = good();
        delete s.objects[2]!.annotations![drop];
        const lines = only(s, "helm-ownership").split("\n");
        assert.match(lines[0]!, /^mp1: 1 object\(s\) lack Helm's ownership metadata for tsb\/tsb-managementplane/);
        assert.deepEqual(lines.slice(1), ownershipCommands([s.objects[2]!], "tsb-managementplane", "tsb"));
        assert.ok(lines[2]!.includes("secret/xcp-central-cert meta.helm.sh/release-name=tsb-managementplane meta.helm.sh/release-namespace=tsb"), drop);
      }
    });

    it("reports every refusal at once, so one preview shows all fixes", () => {
      const s = good();
      delete s.release;
      spec(s)["organization"] = "tetrate";
      s.caCertPem = pem["other"]!;
      assert.deepEqual(codes(adoptionPreflight(s)).sort(), ["cert-chain", "cert-chain", "organization", "release-missing"]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Steps

const adopt = (step: AdoptStep) => ({ release: "tsb-managementplane", namespace: "tsb", chartVersion: "1.10.0", step });
const cfg = (step: AdoptStep, others: string[] = [], activeSite = "mp1"): AdoptionConfigView => ({
  activeSite, sites: [{ name: "mp1", adopt: adopt(step) }, ...others.map((name) => ({ name }))], adoptedCaKeyGiven: true,
});
const hist = (adoptStep: AdoptStep | undefined, others: string[] = []): AdoptionHistoryView => ({
  activeSite: "mp1", sites: { mp1: adoptStep ? { adoptStep } : {}, ...Object.fromEntries(others.map((o) => [o, {}])) },
});
const fails = (fn: () => unknown, key: string, message: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.key === key && message.test(e.message));
};

describe("adoptionStep", () => {
  it("walks import -> activate -> add standby, one update each, each recorded for the next run", () => {
    const first = adoptionStep(undefined, cfg("import"));
    assert.deepEqual(first, { site: "mp1", step: "import", values: "verbatim", issueLeaves: false, historyStep: "import" });
    const second = adoptionStep(hist("import"), cfg("activate"));
    assert.deepEqual(second, { site: "mp1", step: "activate", values: "merged", issueLeaves: true, historyStep: "activate" });
    assert.equal(adoptionStep(hist("activate"), cfg("activate", ["mp2"]))?.values, "merged", "a standby joins once the activation ran");
    assert.equal(adoptionStep(hist("activate", ["mp2"]), cfg("activate", ["mp2"], "mp2"))?.step, "activate", "later failovers are the normal program's");
    assert.equal(adoptionStep(undefined, { activeSite: "mp1", sites: [{ name: "mp1" }], adoptedCaKeyGiven: true }), undefined, "no adoption configured");
  });

  it("makes a skipped step an error that names the key and the order", () => {
    fails(() => adoptionStep(undefined, cfg("activate")), "sites.mp1.adopt.step", /skips the import step.*Steps, one update each: import/);
    fails(() => adoptionStep(undefined, cfg("import", ["mp2"])), "sites.mp1.adopt.step", /imports mp1 in the update that also adds mp2/);
    fails(() => adoptionStep(hist("import"), cfg("activate", ["mp2"])), "sites.mp1.adopt.step", /activates mp1 in the update that also adds mp2/);
    fails(() => adoptionStep(undefined, cfg("import", [], "mp2")), "activeSite", /must be mp1, the adopted site/);
    fails(() => adoptionStep(hist("import"), cfg("activate", [], "mp2")), "activeSite", /must be mp1 while it is being made the active/);
    const order = /Steps, one update each: import \(set sites\.mp1\.adopt\.step to import\), activate \(then set it to activate\), then add the standby sites/;
    fails(() => adoptionStep(undefined, cfg("import", ["mp2", "mp3"])), "sites.mp1.adopt.step", /imports mp1 in the update that also adds mp2, mp3\./);
    fails(() => adoptionStep(undefined, cfg("import", ["mp2", "mp3"])), "sites.mp1.adopt.step", order);
    fails(() => adoptionStep(hist("import"), cfg("activate", ["mp2", "mp3"])), "sites.mp1.adopt.step", /activates mp1 in the update that also adds mp2, mp3\./);
    fails(() => adoptionStep(hist("import"), cfg("activate", ["mp2"])), "sites.mp1.adopt.step", order);
    fails(() => adoptionStep(undefined, cfg("activate")), "sites.mp1.adopt.step", order);
  });

  it("counts as added only a site new to the stack", () => {
    assert.equal(adoptionStep(hist("import", ["mp2"]), cfg("activate", ["mp2"]))?.step, "activate");
    fails(() => adoptionStep(hist("import", ["mp2"]), cfg("activate", ["mp2", "mp3"])), "sites.mp1.adopt.step", /also adds mp3\. A standby needs/);
  });

  it("allows backing out of activate to the installed values only while no standby synchronises from it", () => {
    assert.equal(adoptionStep(hist("activate"), cfg("import"))?.values, "verbatim");
    fails(() => adoptionStep(hist("activate", ["mp2"]), cfg("import", ["mp2"])), "sites.mp1.adopt.step", /while mp2 synchronises from mp1\. Remove the standby sites first/);
    fails(() => adoptionStep(hist("activate", ["mp2", "mp3"]), cfg("import", ["mp2", "mp3"])), "sites.mp1.adopt.step", /while mp2, mp3 synchronise from mp1\./);
  });

  it("without the CA key, refuses new leaves until the control planes' trust bundle is rolled out; the import needs no word", () => {
    const noKey = (step: AdoptStep, rolledOut?: boolean): AdoptionConfigView => ({
      ...cfg(step), adoptedCaKeyGiven: false,
      sites: [{ name: "mp1", adopt: { ...adopt(step), ...(rolledOut === undefined ? {} : { trustBundleRolledOut: rolledOut }) } }],
    });
    assert.equal(adoptionStep(undefined, noKey("import"))?.step, "import");
    for (const word of [undefined, false]) {
      fails(() => adoptionStep(hist("import"), noKey("activate", word)), "sites.mp1.adopt.trustBundleRolledOut", /must be true before mp1 gets leaves from a new root.*Roll it out to every control plane, then: pulumi config set --path 'tsb-ha:sites\.mp1\.adopt\.trustBundleRolledOut' true/);
    }
    assert.equal(adoptionStep(hist("import"), noKey("activate", true))?.issueLeaves, true);
  });

  it("refuses a second adopted site, and adopting into a set that already runs", () => {
    const two: AdoptionConfigView = { activeSite: "mp1", sites: [{ name: "mp1", adopt: adopt("import") }, { name: "mp2", adopt: adopt("import") }], adoptedCaKeyGiven: true };
    fails(() => adoptionStep(undefined, two), "sites.mp2.adopt", /adopts a second management plane/);
    fails(() => adoptionStep({ activeSite: "mp2", sites: { mp2: {} } }, cfg("import")), "sites.mp1.adopt", /already runs without it \(active mp2\)/);
    // The key is set (to an adopt block): the message must not read as if it were empty or unset.
    for (const fn of [() => adoptionStep(undefined, two), () => adoptionStep({ activeSite: "mp2", sites: { mp2: {} } }, cfg("import"))]) {
      assert.throws(fn, (e: unknown) => e instanceof ConfigError && !e.message.includes('= ""') && !e.message.includes("(not set)"));
    }
  });
});

describe("import IDs and the trust bundle", () => {
  it("uses the release's own namespace and name, never the program's default", () => {
    assert.deepEqual(adoptionImportIds({ release: "managementplane", namespace: "tsb-mp" }), { namespace: "tsb-mp", release: "tsb-mp/managementplane" });
    assert.equal(floatingRecordImportId("route53", "Z123", FLOATING, "CNAME"), `Z123_${FLOATING}_CNAME`);
    assert.equal(floatingRecordImportId("cloudflare", "zone1", FLOATING, "CNAME", "rec9"), "zone1/rec9");
    assert.throws(() => floatingRecordImportId("cloudflare", "zone1", FLOATING, "CNAME"), /getDnsRecord/);
  });

  it("puts old and new root in each of the control planes' three CA values", () => {
    assert.equal(at(trustBundleDelta("OLD", "NEW\n\n"), "secrets.xcp.rootca"), "OLD\nNEW\n", "no blank line inside the bundle");
    const d = trustBundleDelta("OLD\n", "NEW");
    for (const p of ["secrets.tsb.cacert", "secrets.xcp.rootca", "secrets.elasticsearch.cacert"]) assert.equal(at(d, p), "OLD\nNEW\n", p);
    assert.deepEqual([...leafPaths(d).keys()].sort(), ["secrets.elasticsearch.cacert", "secrets.tsb.cacert", "secrets.xcp.rootca"]);
  });
});
