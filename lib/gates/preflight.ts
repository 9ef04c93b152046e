// lib/gates/ decides, before each irreversible step, whether it may run: the preflight (here), the
// replication gate and the standbys' follow proof, the ready gate, the API verification, the front
// envoy's address, the standby account and the Secrets TSB's operator makes. Each decision is a pure
// function over what lib/clients/ read; the components in components/ wait on them.
//
// Failover preflight (seed "Perform a Failover", the checks before step 1): the new active must hold
// the same IAM signing key as the old one, and its `tsb-iam-jwks` must exist.
export interface KeyEvidence {
  site: string;
  /** base64 `data` of the site's `iam-signing-key`. */
  signingKeyData: Record<string, string> | undefined;
}

export function kidOf(data: Record<string, string> | undefined): string | undefined {
  const b64 = data?.["kid"];
  if (!b64) return undefined;
  const kid = Buffer.from(b64, "base64").toString("utf8").trim();
  return kid === "" ? undefined : kid;
}

/** Returns the reason the failover must not start, or undefined when it may. */
export function preflightProblem(
  from: KeyEvidence | undefined,
  to: KeyEvidence,
  toJwksData: Record<string, string> | undefined,
): string | undefined {
  if (!kidOf(to.signingKeyData)) return keyProblem(from, to);
  return jwksProblem(to.site, toJwksData) ?? keyProblem(from, to);
}

/** The new active's `tsb-iam-jwks` must hold data (its operator derives it from iam-signing-key). */
export function jwksProblem(site: string, toJwksData: Record<string, string> | undefined): string | undefined {
  if (toJwksData && Object.keys(toJwksData).length > 0) return undefined;
  return `tsb-iam-jwks on ${site} is empty. Nothing was fenced. The standby generates it from iam-signing-key: ` +
    `check the operator logs on ${site} (kubectl logs -n tsb -l name=tsb-operator) and wait until it exists; see docs/failover.md "Preflight failed"`;
}

/** The new active holds a signing key with a kid, the old active's kid when that one can be read. */
export function keyProblem(from: KeyEvidence | undefined, to: KeyEvidence): string | undefined {
  const toKid = kidOf(to.signingKeyData);
  if (!toKid) {
    return `iam-signing-key on ${to.site} has no kid. Nothing was fenced. Copy the key from the old active ` +
      `(kubectl get secret -n tsb iam-signing-key -o yaml) or, if it is gone, compare with the kid of a control plane's tokens; see docs/failover.md "Preflight failed"`;
  }
  if (from) {
    const fromKid = kidOf(from.signingKeyData);
    if (fromKid !== toKid) {
      return `iam-signing-key on ${to.site} (kid ${toKid}) differs from the one on ${from.site} (kid ${fromKid ?? "none"}). Nothing was fenced. ` +
        `Tokens issued by ${from.site} would be rejected after the failover. Re-copy the key to ${to.site} and restart its iam deployment; see docs/failover.md "Preflight failed"`;
    }
  }
  return undefined;
}
