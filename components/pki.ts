// One root CA for the set and, per site, a front-envoy and an XCP central certificate signed by it.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
  ROOT_USES,
  ROOT_VALIDITY_HOURS,
  rootCaSubject,
  siteCertSpecs,
  type LeafSpec,
} from "../lib/certs";
import { COMPONENT_TYPE, certRequestName, leafCertName, leafKeyName, rootCertName, rootKeyName, type LeafPart } from "../lib/resourceNames";

export interface PkiArgs {
  /** Permanent FQDN of each site, by site name. */
  sites: Record<string, string>;
  /** The floating FQDN every site's certificates must also cover. */
  floatingFqdn: string;
  organization: string;
}

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
    // The root key and certificate outlive every site: a new root would re-trust every control plane.
    const rootKey = new tls.PrivateKey(rootKeyName(name), { algorithm: "RSA", rsaBits: 4096 }, { parent: this, protect: true });
    const root = new tls.SelfSignedCert(rootCertName(name), {
      privateKeyPem: rootKey.privateKeyPem,
      subject: rootCaSubject(args.organization),
      isCaCertificate: true,
      validityPeriodHours: ROOT_VALIDITY_HOURS,
      allowedUses: ROOT_USES,
    }, { parent: this, protect: true });
    this.rootCaCertPem = root.certPem;

    for (const [site, fqdn] of Object.entries(args.sites)) {
      const specs = siteCertSpecs(fqdn, args.floatingFqdn);
      const tsbLeaf = this.leaf(site, "tsb", specs.tsb, rootKey, root, args.organization);
      const xcpLeaf = this.leaf(site, "xcp-central", specs.xcp, rootKey, root, args.organization);
      this.sites[site] = {
        tsbCertPem: tsbLeaf.certPem,
        tsbKeyPem: tsbLeaf.keyPem,
        xcpCertPem: xcpLeaf.certPem,
        xcpKeyPem: xcpLeaf.keyPem,
      };
    }
    this.registerOutputs({ rootCaCertPem: this.rootCaCertPem });
  }

  private leaf(site: string, part: LeafPart, spec: LeafSpec, rootKey: tls.PrivateKey, root: tls.SelfSignedCert, organization: string) {
    const key = new tls.PrivateKey(leafKeyName(site, part), { algorithm: "RSA", rsaBits: 2048 }, { parent: this });
    const csr = new tls.CertRequest(certRequestName(site, part), {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: spec.commonName, organization },
      dnsNames: spec.dnsNames,
      uris: spec.uris,
    }, { parent: this });
    const cert = new tls.LocallySignedCert(leafCertName(site, part), {
      certRequestPem: csr.certRequestPem,
      caPrivateKeyPem: rootKey.privateKeyPem,
      caCertPem: root.certPem,
      validityPeriodHours: spec.validityPeriodHours,
      earlyRenewalHours: spec.earlyRenewalHours,
      allowedUses: spec.allowedUses,
    }, { parent: this });
    return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
  }
}
