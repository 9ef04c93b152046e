// Onboarding a control plane (seed step 4): the stack output `controlPlaneValues` carries every value
// the seed lists plus the telemetry host, all on the floating name; one command turns it into one
// control plane's values file with its cluster name.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { CLUSTER_NAME_PLACEHOLDER, controlPlaneValues, withClusterName } from "../lib/plan/values";
import { controlPlaneValuesFile, NO_TELEMETRY_STORE_NOTE } from "../scripts/control-plane-values";
import { runProgram, type ChildOutput } from "./harness/runProgram";
import { baseConfig, input } from "./fixtures";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBroot\nline2\n-----END CERTIFICATE-----\n";
const FLOATING = "active.tsb.example.org";
const SCRIPT = path.join(__dirname, "..", "scripts", "control-plane-values.ts");

type Values = { secrets: Record<string, Record<string, unknown>>; spec: Record<string, Record<string, unknown>> };

describe("controlPlaneValues (seed step 4)", () => {
  const v = controlPlaneValues(FLOATING, 8443, CA) as Values;

  it("trusts the set's root CA for TSB, XCP and Elasticsearch", () => {
    assert.equal(v.secrets["tsb"]!["cacert"], CA);
    assert.equal(v.secrets["xcp"]!["rootca"], CA);
    assert.equal(v.secrets["elasticsearch"]!["cacert"], CA);
  });

  it("connects to the management plane on the floating FQDN and the front-envoy port, self-signed, with a cluster name to fill", () => {
    assert.deepEqual(v.spec["managementPlane"], { host: FLOATING, port: 8443, clusterName: CLUSTER_NAME_PLACEHOLDER, selfSigned: true });
  });

  it("sends telemetry to the floating FQDN too, so a failover moves it with the management plane", () => {
    const elastic = (v.spec["telemetryStore"] as { elastic: Record<string, unknown> }).elastic;
    assert.equal(elastic["host"], FLOATING);
    assert.equal(elastic["port"], 8443);
    assert.deepEqual(controlPlaneValues(FLOATING, 8443, CA, "elastic"), v, "Elasticsearch is the default store");
  });

  it("leaves the Elasticsearch parts out when the management plane uses another store, and keeps the rest", () => {
    const other = controlPlaneValues(FLOATING, 8443, CA, "banyandb") as Values;
    assert.deepEqual(other, { secrets: { tsb: { cacert: CA }, xcp: { rootca: CA } }, spec: { managementPlane: v.spec["managementPlane"] } });
  });
});

describe("withClusterName", () => {
  const output = controlPlaneValues(FLOATING, 443, CA);

  it("fills the cluster name and changes nothing else (the stack output stays as it was)", () => {
    const before = structuredClone(output);
    const filled = withClusterName(output, "app-cluster-1") as Values;
    assert.equal(filled.spec["managementPlane"]!["clusterName"], "app-cluster-1");
    const back = structuredClone(filled);
    back.spec["managementPlane"]!["clusterName"] = CLUSTER_NAME_PLACEHOLDER;
    assert.deepEqual(back, output);
    assert.deepEqual(output, before);
  });

  it("refuses names TSB would not take, a secret-masked output, and values that are not the stack output", () => {
    for (const bad of ["", "App", "app_1", "-app", "a".repeat(64)]) {
      assert.throws(() => withClusterName(output, bad), /is not a TSB cluster name/, bad);
    }
    assert.throws(() => withClusterName("[secret]", "c1"), /--show-secrets/);
    assert.throws(() => withClusterName({ spec: {} }, "c1"), /not the stack output controlPlaneValues/);
    assert.throws(() => withClusterName(withClusterName(output, "c1"), "c2"), /not the stack output controlPlaneValues/);
  });
});

describe("scripts/control-plane-values.ts", () => {
  const stdin = JSON.stringify(controlPlaneValues(FLOATING, 443, CA), null, 2);

  it("writes <cluster>-controlplane-values.yaml (or --out) whose YAML is the filled values, PEMs intact", () => {
    const file = controlPlaneValuesFile(stdin, ["cp-eu-1"]);
    assert.equal(file.path, "cp-eu-1-controlplane-values.yaml");
    assert.deepEqual(yaml.load(file.text), withClusterName(JSON.parse(stdin), "cp-eu-1"));
    assert.equal(controlPlaneValuesFile(stdin, ["cp-eu-1", "--out", "x.yaml"]).path, "x.yaml");
  });

  it("has no note while the values carry a telemetry store, and says what to add when they do not", () => {
    assert.equal(controlPlaneValuesFile(stdin, ["cp-eu-1"]).note, undefined);
    assert.ok(!controlPlaneValuesFile(stdin, ["cp-eu-1"]).text.includes("NOTE"));
    const file = controlPlaneValuesFile(JSON.stringify(controlPlaneValues(FLOATING, 443, CA, "banyandb")), ["cp-eu-1"]);
    assert.equal(file.note, NO_TELEMETRY_STORE_NOTE);
    assert.ok(file.text.includes(`# NOTE: ${NO_TELEMETRY_STORE_NOTE}.\n`));
    assert.deepEqual(yaml.load(file.text), withClusterName(controlPlaneValues(FLOATING, 443, CA, "banyandb"), "cp-eu-1"));
  });

  it("says what to run when the input or the arguments are wrong", () => {
    assert.throws(() => controlPlaneValuesFile(stdin, []), /exactly one cluster name/);
    assert.throws(() => controlPlaneValuesFile(stdin, ["a", "b"]), /exactly one cluster name/);
    assert.throws(() => controlPlaneValuesFile(stdin, ["a", "--out"]), /--out needs a file name/);
    assert.throws(() => controlPlaneValuesFile("", ["a"]), /nothing on stdin/);
    assert.throws(() => controlPlaneValuesFile("spec:\n  x: 1\n", ["a"]), /not JSON.*--json/);
  });

  describe("the command on what the real program exports (index.ts under mocks)", () => {
    let run: ChildOutput;
    let dir: string;
    before(async () => {
      run = await runProgram(input(baseConfig()));
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "cp-values-"));
    });
    const command = (stdinText: string, args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", SCRIPT, ...args], { input: stdinText, encoding: "utf8", cwd: path.join(__dirname, ".."), timeout: 30_000 });

    it("the output is not secret, so `pulumi stack output --json` prints it; the command writes the file", () => {
      const out = run.outputs!["controlPlaneValues"]!;
      assert.equal(out.secret, false);
      const file = path.join(dir, "app-1.yaml");
      const r = command(JSON.stringify(out.value), ["app-1", "--out", file]);
      assert.equal(r.status, 0, r.stderr);
      const values = yaml.load(fs.readFileSync(file, "utf8")) as Values;
      assert.equal(values.spec["managementPlane"]!["clusterName"], "app-1");
      assert.equal(values.spec["managementPlane"]!["host"], run.outputs!["floatingFqdn"]!.value);
      assert.equal(values.secrets["tsb"]!["cacert"], run.outputs!["rootCaCertPem"]!.value);
    });

    it("a refused input exits 1 with the message and writes no file", () => {
      const file = path.join(dir, "bad.yaml");
      const r = command(JSON.stringify(run.outputs!["controlPlaneValues"]!.value), ["Bad_Name", "--out", file]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /is not a TSB cluster name/);
      assert.ok(!fs.existsSync(file));
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
});
