// How the program reaches a site's cluster: its provider, the secrets it reads, and the failover
// preflight built on those reads.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { SiteConfig } from "../lib/config/config";
import type { SetPlan } from "../lib/plan/topology";
import { JWKS_SECRET, PREFLIGHT_JWKS_WAIT_SECONDS, SIGNING_KEY_SECRET, TSB_NAMESPACE } from "../lib/config/names";
import { jwksProblem, keyProblem } from "../lib/gates/preflight";
import { OperatorSecretWait } from "./operatorSecretWait";
import { isInlineKubeconfig } from "../lib/config/kubeconfig";
import { providerName, secretReadName } from "../lib/plan/resourceNames";

/** A site's cluster access for the dynamic resources (lib/clients/kubeAccess.ts reads it in the provider process). */
export interface KubeAccessInput {
  kubeconfig?: pulumi.Input<string>;
  context?: string;
}

/** Contents are secret; a path is not, but the dynamic resources keep it secret either way. */
export function kubeAccessOf(site: SiteConfig): KubeAccessInput {
  return {
    ...(site.kubeconfig !== undefined ? { kubeconfig: isInlineKubeconfig(site.kubeconfig) ? pulumi.secret(site.kubeconfig) : site.kubeconfig } : {}),
    ...(site.context ? { context: site.context } : {}),
  };
}

/**
 * `requestTimeoutSeconds` bounds every HTTP call the provider makes for this site (the provider's
 * `kubeClientSettings.timeout`; customTimeouts bound only the await after a call, never reads:
 * pulumi-kubernetes provider/pkg/provider/provider.go). Set for a fenced old active, whose cluster may
 * be sick: nothing of the failover may wait on it without a bound.
 */
export function siteProvider(site: SiteConfig, requestTimeoutSeconds?: number): k8s.Provider {
  return new k8s.Provider(providerName(site.name), {
    ...(site.context ? { context: site.context } : {}),
    ...(site.kubeconfig ? { kubeconfig: pulumi.secret(site.kubeconfig) } : {}),
    // A new kubeconfig or context for the same site is an update, never a replace of everything on it.
    clusterIdentifier: site.name,
    // Updating a secret (a rotated JWK) happens in place instead of a replace.
    enableSecretMutable: true,
    ...(requestTimeoutSeconds !== undefined ? { kubeClientSettings: { timeout: requestTimeoutSeconds } } : {}),
  });
}

export interface SecretData {
  data: Record<string, string>;
  type: string;
}

/**
 * Reads Secret `tsb/<name>` on a site. After `made` (its ID is the wait's `ref`), the read waits until
 * TSB's operator has made the Secret, and is skipped in a preview that creates the wait.
 */
export function readSecretData(site: string, name: string, provider: k8s.Provider, made?: OperatorSecretWait): pulumi.Output<SecretData> {
  const secret = k8s.core.v1.Secret.get(secretReadName(site, name), made ? made.ref : `${TSB_NAMESPACE}/${name}`, { provider, ...(made ? { dependsOn: [made] } : {}) });
  return pulumi.secret(pulumi.all([secret.data, secret.type]).apply(([data, type]) => ({ data: data ?? {}, type: type ?? "Opaque" })));
}

/**
 * Resolves to "ok" when there is no failover or its preflight passed; rejects with the reason
 * otherwise. Fences and the promotion carry it, so nothing moves before the check. The kids are
 * compared as soon as both keys are read (a preview shows a mismatch); the new active's
 * `tsb-iam-jwks`, which its operator makes, is read once a bounded wait has seen it.
 */
export function failoverPreflight(plan: SetPlan, activeKey: pulumi.Output<SecretData> | undefined, provider: (site: string) => k8s.Provider, access: (site: string) => KubeAccessInput): pulumi.Output<string> {
  // Keyed by the promotion and kept while the promoted site stays active (as its gates are), so a
  // rerun changes nothing; only the update that fails over reads the JWKS after it.
  const promotion = plan.active.promotion;
  const jwksMade = promotion?.includes("->") ? new OperatorSecretWait({
    site: plan.active.name, secret: JWKS_SECRET, promotion, access: access(plan.active.name), timeoutSeconds: PREFLIGHT_JWKS_WAIT_SECONDS,
  }) : undefined;
  const failover = plan.failover;
  if (!failover || !activeKey || !jwksMade) return pulumi.output("ok");
  const refuse = (problem: string | undefined): string => {
    if (problem) throw new pulumi.RunError(`Failover ${failover.from} -> ${failover.to} refused: ${problem}`);
    return "ok";
  };
  const fromKey = failover.fromReachable ? readSecretData(failover.from, SIGNING_KEY_SECRET, provider(failover.from)) : pulumi.output(undefined);
  const keys = pulumi.all([fromKey, activeKey]).apply(([from, to]) => refuse(keyProblem(
    from ? { site: failover.from, signingKeyData: from.data } : undefined,
    { site: failover.to, signingKeyData: to.data },
  )));
  const jwks = readSecretData(failover.to, JWKS_SECRET, provider(failover.to), jwksMade);
  const jwksOk = jwks.apply((j) => refuse(jwksProblem(failover.to, j.data)));
  return pulumi.all([keys, jwksOk]).apply(() => "ok");
}
