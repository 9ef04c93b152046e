// What each certificate of the set must say (seed step 1; tsb-facts.md "Certificates"). Pure, so
// tests can check SANs and usages without mocks, and openssl can check what the provider makes.
export const ROOT_VALIDITY_HOURS = 10 * 365 * 24;
export const LEAF_VALIDITY_HOURS = 365 * 24;
/** Leaf certificates are re-issued on the first `pulumi up` within this window before expiry. */
export const LEAF_EARLY_RENEWAL_HOURS = 30 * 24;

export const XCP_CENTRAL_DNS = "central.xcp.tetrate.io";
export const XCP_CENTRAL_URI = "spiffe://xcp.tetrate.io/central";

export const ROOT_USES = ["cert_signing", "crl_signing", "digital_signature"];
export const LEAF_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

export interface LeafSpec {
  commonName: string;
  dnsNames: string[];
  uris: string[];
  /** IP SANs: only an adopted site's leaves have them (kept from its live certificates). */
  ipAddresses?: string[];
  allowedUses: string[];
  validityPeriodHours: number;
  earlyRenewalHours: number;
}

export interface SiteCertSpecs {
  /** Front envoy (`secrets.tsb`, Secret `tsb-certs`). */
  tsb: LeafSpec;
  /** XCP central (`secrets.xcp.central`, Secret `xcp-central-cert`). */
  xcp: LeafSpec;
}

export function rootCaSubject(organization: string): { commonName: string; organization: string } {
  return { commonName: `${organization} TSB root CA`, organization };
}

/** Both leaves of a site cover its permanent FQDN and the floating FQDN, so a failover needs no new cert. */
export function siteCertSpecs(fqdn: string, floatingFqdn: string): SiteCertSpecs {
  const leaf = (commonName: string, dnsNames: string[], uris: string[]): LeafSpec => ({
    commonName,
    dnsNames,
    uris,
    allowedUses: [...LEAF_USES],
    validityPeriodHours: LEAF_VALIDITY_HOURS,
    earlyRenewalHours: LEAF_EARLY_RENEWAL_HOURS,
  });
  return {
    tsb: leaf(fqdn, [fqdn, floatingFqdn], []),
    xcp: leaf(fqdn, [fqdn, floatingFqdn, XCP_CENTRAL_DNS], [XCP_CENTRAL_URI]),
  };
}

/** The SANs of a certificate (a live leaf an adopted MP's new leaves must keep naming). */
export interface SanSet {
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
}
