// DNS name checks (RFC 1123 host names, lower case as Kubernetes and TSB expect).
import { isIP } from "node:net";

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return LABEL.test(s);
}

/** A fully qualified name of at least two labels, 253 characters at most, no trailing dot. */
export function isDnsName(s: string): boolean {
  if (s.length > 253) return false;
  const labels = s.split(".");
  return labels.length >= 2 && labels.every(isDnsLabel) && !/^\d+$/.test(labels[labels.length - 1] ?? "");
}

export function isIp(s: string): boolean {
  return isIP(s) !== 0;
}

export function ipFamily(s: string): 4 | 6 {
  return isIP(s) === 6 ? 6 : 4;
}
