// `npm run status -- [--json] [--from-file stack.json] [--stack org/proj/stack] [--resolver 1.1.1.1]`
// What is true now on every site and in DNS, compared with the stack's `history`. Reads only; every
// call bounded (--timeout-seconds). Decisions: lib/oncall/status.ts. Exit: 0 agrees, 1 something disagrees,
// 2 nothing disagrees but something could not be read. docs/status-and-readiness.md explains the output.
import { decideStatus, formatStatus, statusExitCode, STATUS_DEPLOYMENTS, type DnsSnapshot, type NameAnswer, type SiteSnapshot, type StatusReport } from "../lib/oncall/status";
import { haBlockOf, jwksKids, replicasOf } from "../lib/oncall/siteFacts";
import { kidOf } from "../lib/gates/preflight";
import { kubePaths } from "../lib/clients/kubeRead";
import { JWKS_SECRET, POSTGRES_LABEL_SELECTOR, SIGNING_KEY_SECRET, TSB_NAMESPACE } from "../lib/config/names";
import { postgresPods } from "../lib/clients/postgresStop";
import type { KubeAccess } from "../lib/clients/kubeAccess";
import {
  accessOf, dnsResolver, errorText, getObject, MANAGEMENT_PLANE_PATH, parseArgs, podExecTransportFor, probeSite, providerReader, secretData, stackFromFile, stackFromPulumi, viewStack, wantsHelp,
  type DnsRecordReader, type NameResolver, type StackReader, type TransportFor,
} from "./onCall";

export interface StatusDeps {
  readStack?: StackReader;
  transportFor?: TransportFor;
  dnsReader?: DnsRecordReader;
  /** Default: node:dns against --resolver (default 1.1.1.1). */
  resolver?: NameResolver;
}

const USAGE = "Usage: npm run status -- [--json] [--from-file <stack.json> | --stack <name>] [--cwd <dir>] [--resolver <ip>] [--timeout-seconds 10] [--help]";
const HELP = [
  USAGE,
  "What is true now on every site and in DNS, compared with the stack's history. Reads only; every call is bounded by --timeout-seconds.",
  "Exit: 0 everything agrees, 1 something disagrees, 2 nothing disagrees but something could not be read. docs/status-and-readiness.md explains the output.",
].join("\n");

/** One site's snapshot; the first read doubles as the reachability check. A fenced site's Postgres pods are counted (its database stays stopped). */
export async function snapshotSite(site: string, access: KubeAccess, probe: boolean, transportFor: TransportFor, timeoutMs: number, fenced = false): Promise<SiteSnapshot> {
  const snap: SiteSnapshot = { site, reachable: true, replicas: {} };
  const readErrors: string[] = [];
  try {
    const mp = await getObject(access, site, MANAGEMENT_PLANE_PATH, timeoutMs);
    if (mp === "missing") readErrors.push(`no ManagementPlane CR (${MANAGEMENT_PLANE_PATH})`);
    else snap.haBlock = haBlockOf(mp);
  } catch (e) {
    return { site, reachable: false, unreachableReason: errorText(e), replicas: {} };
  }
  await Promise.all([
    ...STATUS_DEPLOYMENTS.map(async (d) => {
      try {
        const o = await getObject(access, site, kubePaths.deployment(TSB_NAMESPACE, d), timeoutMs);
        snap.replicas[d] = o === "missing" ? "missing" : replicasOf(o);
      } catch (e) {
        readErrors.push(`deployment ${d}: ${errorText(e)}`);
      }
    }),
    secretData(access, site, SIGNING_KEY_SECRET, timeoutMs).then((d) => {
      const kid = kidOf(d);
      if (kid) snap.signingKid = kid;
    }, (e: unknown) => readErrors.push(`${SIGNING_KEY_SECRET}: ${errorText(e)}`)),
    secretData(access, site, JWKS_SECRET, timeoutMs).then((d) => {
      if (d) snap.jwksKids = jwksKids(d);
    }, (e: unknown) => readErrors.push(`${JWKS_SECRET}: ${errorText(e)}`)),
    probe ? probeSite(transportFor, site, access, timeoutMs).then((p) => { snap.replication = "error" in p ? { error: p.error } : { probe: p }; }) : Promise.resolve(),
    fenced ? postgresPods(access, site, TSB_NAMESPACE, POSTGRES_LABEL_SELECTOR, timeoutMs).then((pods) => { snap.postgresPods = pods.length; },
      (e: unknown) => readErrors.push(`Postgres pods: ${errorText(e)}`)) : Promise.resolve(),
  ]);
  if (readErrors.length > 0) snap.readErrors = readErrors;
  return snap;
}

export async function runStatus(argv: readonly string[], deps: StatusDeps = {}): Promise<{ exitCode: 0 | 1 | 2; output: string; report?: StatusReport }> {
  if (wantsHelp(argv)) return { exitCode: 0, output: HELP };
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv, ["json"], ["from-file", "stack", "cwd", "resolver", "timeout-seconds"]);
  } catch (e) {
    return { exitCode: 2, output: `status: ${errorText(e)}\n${USAGE}` };
  }
  const one = (k: string): string | undefined => ([] as string[]).concat((args[k] as string | string[] | undefined) ?? []).at(-1);
  const timeoutMs = Number(one("timeout-seconds") ?? 10) * 1000;
  const readStack = deps.readStack ?? (one("from-file") ? stackFromFile(one("from-file")!) : stackFromPulumi(one("cwd") ?? process.cwd(), one("stack"), Math.max(timeoutMs, 60_000)));
  let view;
  try {
    view = viewStack(await readStack());
  } catch (e) {
    return { exitCode: 2, output: `status: could not read the stack: ${errorText(e)}` };
  }
  const { config, history } = view;
  const transportFor = deps.transportFor ?? podExecTransportFor;
  const server = one("resolver") ?? "1.1.1.1";
  const resolver = deps.resolver ?? dnsResolver(server, timeoutMs);
  const roleOf = (s: string): string => history?.sites[s]?.role ?? (s === config.activeSite ? "active" : config.sites.find((x) => x.name === s)?.state ?? "?");

  const sitesP = Promise.all(config.sites.map((s) =>
    roleOf(s.name) === "lost"
      ? Promise.resolve<SiteSnapshot>({ site: s.name, reachable: false, skipped: true, unreachableReason: "lost: not read", replicas: {} })
      : snapshotSite(s.name, accessOf(config, s.name), roleOf(s.name) === "active" || roleOf(s.name) === "standby", transportFor, timeoutMs, roleOf(s.name) === "fenced")));
  const providerP = (deps.dnsReader ?? providerReader(config)).read(config.dns.zoneId, config.floatingFqdn, timeoutMs).then((d): NameAnswer | { error: string } =>
    d.status !== "read" ? { error: d.reason }
      : !d.zoneReadable || !d.record ? { error: d.zoneReadable ? "no such record in the zone" : "the credentials cannot read the zone" }
        : d.record.type.toUpperCase() === "CNAME" ? { cname: d.record.value, ttl: d.record.ttl } : { addresses: [d.record.value], ttl: d.record.ttl },
  (e: unknown) => ({ error: errorText(e) }));
  const publicP = resolver(config.floatingFqdn).then((a) => ({ ...a, resolver: server }), (e: unknown) => ({ error: errorText(e), resolver: server }));
  const [sites, provider, publicResolver] = await Promise.all([sitesP, providerP, publicP]);
  const dns: DnsSnapshot = { floatingFqdn: config.floatingFqdn, provider, publicResolver };
  // An A-record answer maps to a site only through the sites' own addresses.
  const answers = [provider, publicResolver];
  if (answers.some((a) => !("error" in a) && a.addresses)) {
    dns.siteAddresses = Object.fromEntries(await Promise.all(config.sites.map(async (s) => [s.name, (await resolver(s.fqdn).catch((): NameAnswer => ({}))).addresses ?? []] as const)));
  }
  const report = decideStatus({
    config: { activeSite: config.activeSite, floatingFqdn: config.floatingFqdn, sites: config.sites.map((s) => ({ name: s.name, fqdn: s.fqdn, state: s.state })) },
    history,
    sites,
    dns,
    maxLostContactSeconds: view.limits.maxLostContactSeconds,
  });
  const exitCode = statusExitCode(report);
  const output = args["json"] ? JSON.stringify({ exitCode, verdict: report.verdict, findings: report.findings, expected: report.expected, dnsPointsAt: report.dnsPointsAt, sites, dns }, null, 2) : formatStatus(report);
  return { exitCode, output, report };
}

async function main(): Promise<void> {
  const r = await runStatus(process.argv.slice(2));
  process.stdout.write(`${r.output}\n`);
  process.exit(r.exitCode);
}

if (require.main === module) void main();
