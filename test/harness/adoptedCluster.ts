// A hand-installed TSB management plane, seeded into a FakeKubeApi as the API server would return it:
// Helm's storage Secrets for two revisions (encoded as Helm does), the ManagementPlane CR and its CRD,
// live `tsb-certs` / `xcp-central-cert` leaves signed by a real root CA (openssl CLI), the operator's
// `iam-signing-key`, and the chart's objects with Helm's ownership metadata. Options turn it into each
// case the adoption preflight refuses. Used by test/adoption/read.test.ts and the program-level tests.
//
// Shapes: values after tetratelabs/tsb-helm-install-demos examples/managementplane_values_example.yaml
// (user-supplied tsb/xcp certificates, rootca, certIssuer selfSigned + clusterIntermediateCAs) and the
// fixtures in test/fixtures/adoptionValues.ts (ldap/oidc identity providers, tokenIssuer.jwt, external
// Elasticsearch, custom component settings); objects and names after rootsongjc/cloud-native-library
// content/tsb/setup/migrate-tctl-to-helm.md; Helm's storage after helm/helm pkg/storage/driver/secrets.go
// and util.go (see lib/adoption/read.ts).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gzipSync, constants as zlibConstants } from "node:zlib";
import * as yaml from "js-yaml";
import type { Values } from "../../lib/config/helmValues";
import { OPERATOR_DEPLOYMENT, SIGNING_KEY_SECRET } from "../../lib/config/names";
import type { FakeKubeApi, Kind } from "./fakeKubeApi";
import { randomValue } from "./registrationDump";

export interface AdoptedClusterOptions {
  /** Helm release name (default "tsb-managementplane", as tsb-helm-install-demos). */
  release?: string;
  namespace?: string;
  /** Chart version of the latest revision (default "1.10.0"); revision 1 ran an older one. */
  chartVersion?: string;
  organization?: string;
  /** info.status of the latest revision (default "deployed"). */
  status?: string;
  /** "tctl": no Helm release, objects without Helm's label and annotations (default "helm"). */
  install?: "helm" | "tctl";
  /** The CRD's schema has spec.highAvailability (default true). */
  crdHighAvailability?: boolean;
  /** spec.tokenIssuer.jwt.signingKeysSecret; "tsb-certs" = the IAM signs with the front-envoy key (no iam-signing-key). */
  signingKeysSecret?: string;
  /** spec.dataStore (an external Postgres). */
  dataStore?: Values;
  /** The live leaves are signed by another CA than the returned caCertPem. */
  certsFromOtherCa?: boolean;
  /** The host the control planes use, in tsb-certs (default "tsb.acme.example.com"). */
  floatingFqdn?: string;
  identityProvider?: "ldap" | "oidc";
  /** spec.components.frontEnvoy.port (default 443); null: installed without it (TSB's front envoy then listens on 8443). */
  frontEnvoyPort?: number | null;
}

export interface AdoptedCluster {
  /** The root CA the control planes trust (PEM), and its key. */
  caCertPem: string;
  caKeyPem: string;
  /** The latest revision's user-supplied values, as `helm get values` returns them. */
  values: Values;
  /** `helm get values <release> -n <ns> -o yaml` (js-yaml dump of `values`). */
  valuesYaml: string;
  liveTsbCertPem: string;
  liveXcpCertPem: string;
  release: string;
  namespace: string;
  chartVersion: string;
  organization: string;
  floatingFqdn: string;
  /** Every password and private key seeded (for "never printed" checks). */
  secretTexts: string[];
}

const HELM_LABEL = "app.kubernetes.io/managed-by";

/** A root CA plus leaves with DNS, IP and URI SANs, by the openssl CLI (EC P-256: fast). */
class Pki {
  readonly certPem: string;
  readonly keyPem: string;
  private n = 0;
  constructor(private readonly dir: string, private readonly id: string, cn: string) {
    this.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${id}.key`, "-out", `${id}.crt`, "-days", "3650",
      "-subj", `/O=Acme/CN=${cn}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    this.certPem = readFileSync(path.join(dir, `${id}.crt`), "utf8");
    this.keyPem = readFileSync(path.join(dir, `${id}.key`), "utf8");
  }
  private run(...args: string[]): void {
    execFileSync("openssl", args, { cwd: this.dir, stdio: "pipe" });
  }
  leaf(cn: string, sans: string[]): { certPem: string; keyPem: string } {
    const f = `${this.id}-leaf${++this.n}`;
    this.run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${f}.key`, "-out", `${f}.csr`, "-subj", `/O=Acme/CN=${cn}`);
    writeFileSync(path.join(this.dir, `${f}.ext`), `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=critical,CA:FALSE\n`);
    this.run("x509", "-req", "-in", `${f}.csr`, "-CA", `${this.id}.crt`, "-CAkey", `${this.id}.key`, "-CAcreateserial", "-out", `${f}.crt`, "-days", "365", "-extfile", `${f}.ext`);
    return { certPem: readFileSync(path.join(this.dir, `${f}.crt`), "utf8"), keyPem: readFileSync(path.join(this.dir, `${f}.key`), "utf8") };
  }
}

type LivePki = { ca: { certPem: string; keyPem: string }; tsbLeaf: { certPem: string; keyPem: string }; xcpLeaf: { certPem: string; keyPem: string } };
const pkiCache = new Map<string, LivePki>();

/**
 * The root CA and the live leaves: tsb-certs for the floating name plus an IP SAN, xcp-central-cert for
 * central.xcp.tetrate.io + spiffe://xcp.tetrate.io/central. Made once per process and shape (openssl runs
 * take most of a seed's time); the returned CA is always the same one, `otherCa` signs the leaves elsewhere.
 */
function livePki(floatingFqdn: string, otherCa: boolean): LivePki {
  const key = `${floatingFqdn}|${otherCa}`;
  const cached = pkiCache.get(key);
  if (cached) return cached;
  const base = otherCa ? livePki(floatingFqdn, false).ca : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "adopted-mp-"));
  try {
    const ca = new Pki(dir, "ca", "Acme TSB Root CA");
    const signer = otherCa ? new Pki(dir, "other", "Some Other CA") : ca;
    const made: LivePki = {
      ca: base ?? { certPem: ca.certPem, keyPem: ca.keyPem },
      tsbLeaf: signer.leaf(floatingFqdn, [`DNS:${floatingFqdn}`, "IP:203.0.113.10"]),
      xcpLeaf: signer.leaf("central.xcp.tetrate.io", ["DNS:central.xcp.tetrate.io", "URI:spiffe://xcp.tetrate.io/central"]),
    };
    pkiCache.set(key, made);
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString("base64");
const secretData = (m: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, b64(v)]));

/**
 * A Helm 3 storage Secret as the API returns it: Helm stores base64(gzip(JSON release)) (util.go
 * encodeRelease, gzip.BestCompression) under data.release, and the API base64-encodes Secret data again.
 */
export function helmReleaseSecret(rel: { name: string; namespace: string; revision: number; status: string; chartName: string; chartVersion: string; config: Values | null; manifest?: string }): Record<string, unknown> {
  const release = {
    name: rel.name,
    info: { first_deployed: "2026-03-02T10:11:12.000000000Z", last_deployed: "2026-06-01T08:00:00.000000000Z", deleted: "", description: rel.revision === 1 ? "Install complete" : "Upgrade complete", status: rel.status, notes: "Thank you for installing the TSB Management plane." },
    chart: {
      metadata: { name: rel.chartName, version: rel.chartVersion, appVersion: rel.chartVersion, apiVersion: "v2", description: "TSB management plane", type: "application" },
      lock: null,
      templates: [{ name: "templates/operator.yaml", data: b64("# operator") }],
      values: { image: { registry: "containers.dl.tetrate.io", tag: rel.chartVersion }, secrets: { keep: false } },
      schema: null,
      files: [],
    },
    config: rel.config,
    manifest: rel.manifest ?? `---\n# Source: managementplane/templates/operator.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${OPERATOR_DEPLOYMENT}\n`,
    version: rel.revision,
    namespace: rel.namespace,
  };
  const helmText = gzipSync(Buffer.from(JSON.stringify(release)), { level: zlibConstants.Z_BEST_COMPRESSION }).toString("base64");
  return {
    type: "helm.sh/release.v1",
    metadata: {
      name: `sh.helm.release.v1.${rel.name}.v${rel.revision}`,
      namespace: rel.namespace,
      labels: { name: rel.name, owner: "helm", status: rel.status, version: String(rel.revision), modifiedAt: "1780300800" },
    },
    data: { release: b64(helmText) },
  };
}

/** The ManagementPlane CRD with a structural schema whose spec lists these properties. */
export function managementPlaneCrd(specProperties: string[]): Record<string, unknown> {
  const obj = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  return {
    metadata: { name: "managementplanes.install.tetrate.io" },
    spec: {
      group: "install.tetrate.io",
      names: { kind: "ManagementPlane", listKind: "ManagementPlaneList", plural: "managementplanes", singular: "managementplane", shortNames: ["mp"] },
      scope: "Namespaced",
      versions: [{
        name: "v1alpha1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              apiVersion: { type: "string" },
              kind: { type: "string" },
              metadata: { type: "object" },
              spec: { type: "object", properties: Object.fromEntries(specProperties.map((p) => [p, p === "hub" || p === "organization" ? { type: "string" } : obj])) },
              status: obj,
            },
          },
        },
      }],
    },
  };
}

const CRD_SPEC = ["certIssuer", "components", "dataStore", "defaultLogLevel", "hub", "identityProvider", "imagePullSecrets", "meshObservability", "organization", "telemetryStore", "tokenIssuer"];

/** Seeds `api` with a hand-installed MP and returns what a test needs to judge it. */
export function seedAdoptedCluster(api: FakeKubeApi, opts: AdoptedClusterOptions = {}): AdoptedCluster {
  const release = opts.release ?? "tsb-managementplane";
  const ns = opts.namespace ?? "tsb";
  const chartVersion = opts.chartVersion ?? "1.10.0";
  const organization = opts.organization ?? "acme";
  const floatingFqdn = opts.floatingFqdn ?? "tsb.acme.example.com";
  const helm = (opts.install ?? "helm") === "helm";
  const idp = opts.identityProvider ?? "ldap";

  const { ca, tsbLeaf, xcpLeaf } = livePki(floatingFqdn, opts.certsFromOtherCa === true);

  const pw = (): string => randomValue(randomBytes(12).toString("base64url"), "test password");
  const adminPassword = pw();
  const postgresPassword = pw();
  const esPassword = pw();
  const idpSecret = pw();
  const registry = "registry.acme.example.com/tetrate";
  const jwtSigning = opts.signingKeysSecret ? { signingKeysSecret: opts.signingKeysSecret } : {};
  const spec: Values = {
    hub: registry,
    organization,
    components: {
      ...(opts.frontEnvoyPort === null ? {} : { frontEnvoy: { port: opts.frontEnvoyPort ?? 443 } }),
      oap: { streamingLogEnabled: true },
      apiServer: { teamSyncSchedule: "0 * * * *" },
      webUI: { kubeSpec: { deployment: { replicaCount: 2 } } },
    },
    certIssuer: { selfSigned: {}, clusterIntermediateCAs: {} },
    identityProvider: idp === "ldap"
      ? { ldap: { host: "ldap.acme.example.com", port: 636, search: { baseDN: "dc=acme,dc=example,dc=com" }, iam: { matchDN: "uid=%s,ou=people,dc=acme,dc=example,dc=com" }, sync: { usersFilter: "(objectClass=person)", groupsFilter: "(objectClass=groupOfUniqueNames)", membershipAttribute: "uniqueMember" } } }
      : { oidc: { clientId: "tsb-ui", providerUri: "https://login.acme.example.com/realms/acme", scopes: ["email", "profile", "offline_access"], redirectUri: `https://${floatingFqdn}/iam/v2/oidc/callback` } },
    tokenIssuer: { jwt: { expiration: "3600s", refreshExpiration: "2592000s", tokenPruneInterval: "3600s", issuers: [{ name: "https://jwt.tetrate.io", algorithm: "RS256" }], ...jwtSigning } },
    telemetryStore: { elastic: { host: "elasticsearch.acme.example.com", port: 9200, version: 7, protocol: "https", selfSigned: true } },
    ...(opts.dataStore ? { dataStore: opts.dataStore } : {}),
  };
  const values: Values = {
    image: { registry, tag: chartVersion },
    secrets: {
      tsb: { adminPassword, cert: tsbLeaf.certPem, key: tsbLeaf.keyPem },
      postgres: { username: "tsb", password: postgresPassword },
      elasticsearch: { username: "tsb", password: esPassword },
      ...(idp === "ldap" ? { ldap: { binddn: "cn=tsb,ou=services,dc=acme,dc=example,dc=com", bindpassword: idpSecret } } : { oidc: { clientSecret: idpSecret } }),
      xcp: { autoGenerateCerts: false, central: { cert: xcpLeaf.certPem, key: xcpLeaf.keyPem }, rootca: ca.certPem },
    },
    spec,
  };

  // Helm-owned metadata as `helm install` writes it (helm/helm PR #7649 checks these three).
  const owned = (extra: Values = {}): Values => ({
    ...extra,
    metadata: helm
      ? { labels: { [HELM_LABEL]: "Helm", "app.kubernetes.io/instance": release }, annotations: { "meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": ns } }
      : { labels: { name: OPERATOR_DEPLOYMENT } }, // tctl's manifests: no Helm metadata (the label is illustrative)
  });
  const put = (kind: Kind, name: string, obj: Values, namespace = ns): void => api.set(kind, namespace, name, obj);

  if (helm) {
    // Newest first in the store, so list order alone would pick the wrong revision.
    const older = chartVersion === "1.9.4" ? "1.9.3" : "1.9.4";
    put("secrets", `sh.helm.release.v1.${release}.v2`, helmReleaseSecret({ name: release, namespace: ns, revision: 2, status: opts.status ?? "deployed", chartName: "managementplane", chartVersion, config: values }));
    put("secrets", `sh.helm.release.v1.${release}.v1`, helmReleaseSecret({ name: release, namespace: ns, revision: 1, status: "superseded", chartName: "managementplane", chartVersion: older, config: { ...values, image: { registry, tag: older } } }));
    // Another release in the same namespace: the label selector must keep it out.
    put("secrets", "sh.helm.release.v1.tsb-extras.v7", helmReleaseSecret({ name: "tsb-extras", namespace: ns, revision: 7, status: "deployed", chartName: "extras", chartVersion: "9.9.9", config: null }));
  }

  put("deployments", OPERATOR_DEPLOYMENT, owned({ spec: { replicas: 1, selector: { matchLabels: { name: OPERATOR_DEPLOYMENT } } } }));
  put("services", OPERATOR_DEPLOYMENT, owned({ spec: { type: "ClusterIP", ports: [{ name: "http-metrics", port: 8383 }] } }));
  put("serviceaccounts", OPERATOR_DEPLOYMENT, owned());
  put("clusterroles", `${OPERATOR_DEPLOYMENT}-${ns}`, owned({ rules: [{ apiGroups: ["install.tetrate.io"], resources: ["*"], verbs: ["*"] }] }), "");
  put("clusterrolebindings", `${OPERATOR_DEPLOYMENT}-${ns}`, owned({ roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${OPERATOR_DEPLOYMENT}-${ns}` } }), "");
  put("secrets", "admin-credentials", owned({ type: "Opaque", data: secretData({ username: "admin", password: adminPassword }) }));
  put("secrets", "postgres-credentials", owned({ type: "Opaque", data: secretData({ "embedded-postgres-password": postgresPassword, username: "tsb", password: postgresPassword }) }));
  put("secrets", "elastic-credentials", owned({ type: "Opaque", data: secretData({ username: "tsb", password: esPassword }) }));
  if (idp === "ldap") put("secrets", "ldap-credentials", owned({ type: "Opaque", data: secretData({ binddn: "cn=tsb,ou=services,dc=acme,dc=example,dc=com", bindpassword: idpSecret }) }));
  put("secrets", "tsb-certs", owned({ type: "kubernetes.io/tls", data: secretData({ "tls.crt": tsbLeaf.certPem, "tls.key": tsbLeaf.keyPem }) }));
  put("secrets", "xcp-central-cert", owned({ type: "kubernetes.io/tls", data: secretData({ "tls.crt": xcpLeaf.certPem, "tls.key": xcpLeaf.keyPem, "ca.crt": ca.certPem }) }));
  put("managementplanes", "managementplane", owned({ spec: structuredClone(spec) }));
  put("customresourcedefinitions", "managementplanes.install.tetrate.io", managementPlaneCrd((opts.crdHighAvailability ?? true) ? [...CRD_SPEC, "highAvailability"] : CRD_SPEC), "");

  const signingKeyPem = "-----BEGIN PRIVATE KEY-----\n" + randomBytes(48).toString("base64") + "\n-----END PRIVATE KEY-----\n";
  // The operator makes iam-signing-key unless the IAM signs with another Secret (seed; docs operations/multiple-iam-keys).
  if (!opts.signingKeysSecret) put("secrets", SIGNING_KEY_SECRET, { type: "Opaque", metadata: { labels: { "app.kubernetes.io/managed-by": "tsb-operator" } }, data: secretData({ "private.key": signingKeyPem }) });

  return {
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    values,
    valuesYaml: yaml.dump(values),
    liveTsbCertPem: tsbLeaf.certPem,
    liveXcpCertPem: xcpLeaf.certPem,
    release,
    namespace: ns,
    chartVersion,
    organization,
    floatingFqdn,
    secretTexts: [adminPassword, postgresPassword, esPassword, idpSecret, tsbLeaf.keyPem, xcpLeaf.keyPem, ca.keyPem, signingKeyPem],
  };
}
