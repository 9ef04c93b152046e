// lib/clients/ is the I/O: bounded calls to a site's Kubernetes API, to a pod's shell and psql, and to
// TSB's HTTP API. It decides nothing about the failover; every call has a deadline and names the site.
// It builds on lib/config/ only.
//
// How code that runs outside the Kubernetes provider (dynamic providers, the read-only commands)
// reaches a site's cluster: the same kubeconfig and context the site's `k8s.Provider` gets.
// Dynamic providers run in the engine's provider process from a serialized closure, so the client
// library is required inside the functions, never captured from this module's scope
// (tooling-facts.md: @kubernetes/client-node 1.4.0 loads there; 2.x does not load on Node 20).
import { isInlineKubeconfig } from "../config/kubeconfig";
import type * as k8sClient from "@kubernetes/client-node";

/** A site's cluster access, as config gives it: a kubeconfig path or its contents, and a context. */
export interface KubeAccess {
  /** Path or contents; unset: the ambient kubeconfig (KUBECONFIG or ~/.kube/config). */
  kubeconfig?: string;
  context?: string;
}

/**
 * A site's access from its config entry, as plain text (a kubeconfig path or contents, and a context);
 * none: the ambient kubeconfig. The program's resources get it as a secret: clusterAccess.ts kubeAccessOf.
 */
export function plainKubeAccess(site: KubeAccess | undefined): KubeAccess {
  return { ...(site?.kubeconfig ? { kubeconfig: site.kubeconfig } : {}), ...(site?.context ? { context: site.context } : {}) };
}

/** Loads the site's kubeconfig and selects its context; throws a message naming what is wrong. */
export function kubeConfigFor(access: KubeAccess, site: string): k8sClient.KubeConfig {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const k8s = require("@kubernetes/client-node") as typeof k8sClient;
  const kc = new k8s.KubeConfig();
  if (!access.kubeconfig) kc.loadFromDefault();
  else if (isInlineKubeconfig(access.kubeconfig)) kc.loadFromString(access.kubeconfig);
  else kc.loadFromFile(access.kubeconfig);
  if (access.context) {
    if (!kc.getContexts().some((c) => c.name === access.context)) {
      throw new Error(`site ${site}: kubeconfig has no context "${access.context}" (have: ${kc.getContexts().map((c) => c.name).join(", ") || "none"})`);
    }
    kc.setCurrentContext(access.context);
  }
  return kc;
}

/** Rejects after `ms` with a message naming what timed out; never leaves a timer behind. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
