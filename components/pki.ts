// One root CA for the set and, per site, a front-envoy and an XCP central certificate signed by it.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ROOT_USES, ROOT_VALIDITY_HOURS, rootCaSubject, type LeafSpec } from "../lib/plan/certs";
import { leafSpecsFor } from "../lib/adoption/plan";
import type { AdoptedSans } from "../lib/plan/topology";
import { COMPONENT_TYPE, certRequestName, leafCertName, leafKeyName, rootCertName, rootKeyName, type LeafPart } from "../lib/plan/resourceNames";

export interface PkiArgs {
  /** Permanent FQDN of each site, by site name. */
  sites: Record<string, string>;
  /** The floating FQDN every site's certificates must also cover. */
  floatingFqdn: string;
  organization: string;
  /**
   * An adopted set's CA (certificate and key): leaves are signed by it and no root is made, so the
   * control planes, which already trust it, need no change (docs/adopting.md, route A).
   */
  ca?: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
  /** Sites that get no leaves in this update (an adopted site before its activate step). */
  skip?: string[];
  /** An adopted site's live SANs, kept in its new leaves. */
  kept?: Record<string, AdoptedSans>;
}

interface Signer { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> }

export interface SiteCerts {
  tsbCertPem: pulumi.Output<string>;
  tsbKeyPem: pulumi.Output<string>;
  xcpCertPem: pulumi.Output<string>;
  xcpKeyPem: pulumi.Output<string>;
}

export class Pki extends pulumi.ComponentResource {
  /** Root CA certificate (PEM); every site and control plane trusts it. */
  public readonly rootCaCertPem: pulumi.Output<string>;
  public readonly sites: Record<string, SiteCerts> = {};

  constructor(name: string, args: PkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPE.pki, name, {}, opts);
    const signer = args.ca ? { certPem: args.ca.certPem, keyPem: pulumi.secret(args.ca.keyPem) } : this.root(name, args.organization);
    this.rootCaCertPem = pulumi.output(signer.certPem);

    for (const [site, fqdn] of Object.entries(args.sites)) {
      if (args.skip?.includes(site)) continue;
      const specs = leafSpecsFor(fqdn, args.floatingFqdn, args.kept?.[site]);
      const tsbLeaf = this.leaf(site, "tsb", specs.tsb, signer, args.organization);
      const xcpLeaf = this.leaf(site, "xcp-central", specs.xcp, signer, args.organization);
      this.sites[site] = {
        tsbCertPem: tsbLeaf.certPem,
        tsbKeyPem: tsbLeaf.keyPem,
        xcpCertPem: xcpLeaf.certPem,
        xcpKeyPem: xcpLeaf.keyPem,
      };
    }
    // `ca` tells the policy pack where the set's CA comes from: "adopted" has no self-signed root in the stack.
    this.registerOutputs({ rootCaCertPem: this.rootCaCertPem, ca: args.ca ? "adopted" : "own" });
  }

  /** The set's own root: its key and certificate outlive every site (a new root would re-trust every control plane). */
  private root(name: string, organization: string): Signer {
    const rootKey = new tls.PrivateKey(rootKeyName(name), { algorithm: "RSA", rsaBits: 4096 }, { parent: this, protect: true });
    const root = new tls.SelfSignedCert(rootCertName(name), {
      privateKeyPem: rootKey.privateKeyPem,
      subject: rootCaSubject(organization),
      isCaCertificate: true,
      validityPeriodHours: ROOT_VALIDITY_HOURS,
      allowedUses: ROOT_USES,
    }, { parent: this, protect: true });
    return { certPem: root.certPem, keyPem: rootKey.privateKeyPem };
  }

  private leaf(site: string, part: LeafPart, spec: LeafSpec, signer: Signer, organization: string) {
    const key = new tls.PrivateKey(leafKeyName(site, part), { algorithm: "RSA", rsaBits: 2048 }, { parent: this });
    const csr = new tls.CertRequest(certRequestName(site, part), {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: spec.commonName, organization },
      dnsNames: spec.dnsNames,
      uris: spec.uris,
      ...(spec.ipAddresses && spec.ipAddresses.length > 0 ? { ipAddresses: spec.ipAddresses } : {}),
    }, { parent: this });
    const cert = new tls.LocallySignedCert(leafCertName(site, part), {
      certRequestPem: csr.certRequestPem,
      caPrivateKeyPem: signer.keyPem,
      caCertPem: signer.certPem,
      validityPeriodHours: spec.validityPeriodHours,
      earlyRenewalHours: spec.earlyRenewalHours,
      allowedUses: spec.allowedUses,
    }, { parent: this });
    return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
  }
}
