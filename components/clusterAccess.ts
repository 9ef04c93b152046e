// How the program reaches a site's cluster: its provider, the secrets it reads, and the failover
// preflight built on those reads.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { SiteConfig } from "../lib/config";
import type { SetPlan } from "../lib/topology";
import { JWKS_SECRET, SIGNING_KEY_SECRET, TSB_NAMESPACE } from "../lib/names";
import { preflightProblem } from "../lib/preflight";
import { isInlineKubeconfig } from "../lib/kubeAccess";
import { providerName, secretReadName } from "../lib/resourceNames";

/** A site's cluster access for the dynamic resources (lib/kubeAccess.ts reads it in the provider process). */
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
 * Reads Secret `tsb/<name>` on a site. With `after`, the read waits for that release (whose chart or
 * operator makes the secret) and is skipped in a preview that creates the release.
 */
export function readSecretData(site: string, name: string, provider: k8s.Provider, after?: k8s.helm.v3.Release): pulumi.Output<SecretData> {
  const id = after ? after.status.apply((st) => `${st.namespace}/${name}`) : `${TSB_NAMESPACE}/${name}`;
  const secret = k8s.core.v1.Secret.get(secretReadName(site, name), id, { provider });
  return pulumi.secret(pulumi.all([secret.data, secret.type]).apply(([data, type]) => ({ data: data ?? {}, type: type ?? "Opaque" })));
}

/**
 * Resolves to "ok" when there is no failover or its preflight passed; rejects with the reason
 * otherwise. Fences and the promotion carry it, so nothing moves before the check.
 */
export function failoverPreflight(plan: SetPlan, activeKey: pulumi.Output<SecretData> | undefined, provider: (site: string) => k8s.Provider): pulumi.Output<string> {
  const failover = plan.failover;
  if (!failover || !activeKey) return pulumi.output("ok");
  const fromKey = failover.fromReachable ? readSecretData(failover.from, SIGNING_KEY_SECRET, provider(failover.from)) : pulumi.output(undefined);
  const jwks = readSecretData(failover.to, JWKS_SECRET, provider(failover.to));
  return pulumi.all([fromKey, activeKey, jwks]).apply(([from, to, toJwks]) => {
    const problem = preflightProblem(
      from ? { site: failover.from, signingKeyData: from.data } : undefined,
      { site: failover.to, signingKeyData: to.data },
      toJwks.data,
    );
    if (problem) throw new pulumi.RunError(`Failover ${failover.from} -> ${failover.to} refused: ${problem}`);
    return "ok";
  });
}
