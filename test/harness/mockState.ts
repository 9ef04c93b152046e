// What each mocked resource "returns": inputs echoed back, plus the outputs the program reads
// (PEMs, passwords, release status, secrets on a cluster, the last update's stack outputs).
import type * as pulumi from "@pulumi/pulumi";
import type { ChildInput } from "./types";

type Result = { id: string; state: Record<string, unknown> };

export function mockState(args: pulumi.runtime.MockResourceArgs, input: ChildInput): Result {
  const inputs = args.inputs as Record<string, unknown>;
  const id = args.id && args.id !== "" ? args.id : `${args.name}-id`;

  if (args.type === "pulumi:pulumi:StackReference") {
    return { id, state: { name: inputs["name"], outputs: input.previousOutputs ?? {}, secretOutputNames: [] } };
  }
  if (args.type.startsWith("tls:")) {
    if (input.tls === "openssl") {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tlsModule = require("./opensslTls") as { opensslTlsState: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown> };
      const opensslTlsState = tlsModule.opensslTlsState;
      return { id, state: { ...inputs, ...opensslTlsState(args.type, args.name, inputs) } };
    }
    return { id, state: { ...inputs, ...fakeTls(args.type, args.name) } };
  }
  if (args.type === "random:index/randomPassword:RandomPassword") {
    return { id, state: { ...inputs, result: `password-of-${args.name}` } };
  }
  if (args.type === "kubernetes:helm.sh/v3:Release") {
    return { id, state: { ...inputs, status: { name: inputs["name"], namespace: inputs["namespace"], status: "deployed" } } };
  }
  if (args.type === "kubernetes:core/v1:Secret" && args.id) {
    const site = siteOfProvider(args.provider);
    const secret = site ? input.clusterSecrets?.[site]?.[args.id] : undefined;
    if (!secret) throw new Error(`secrets "${args.id}" not found on site ${site ?? "?"}`);
    return { id: args.id, state: { metadata: { name: args.id.split("/")[1], namespace: args.id.split("/")[0] }, type: secret.type ?? "Opaque", data: secret.data } };
  }
  return { id, state: inputs };
}

/** "urn:pulumi:prod::tsb-ha::pulumi:providers:kubernetes::mp1-k8s::id" -> "mp1". */
export function siteOfProvider(provider: string | undefined): string | undefined {
  const name = provider?.split("::")[3];
  return name?.endsWith("-k8s") ? name.slice(0, -4) : undefined;
}

function fakeTls(type: string, name: string): Record<string, unknown> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey":
      return { privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${name}\n-----END PRIVATE KEY-----\n`, publicKeyPem: `public-${name}` };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: `csr-${name}` };
    default:
      return { certPem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n` };
  }
}
