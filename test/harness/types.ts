// What the test side sends to a mocked program run and what comes back.
export interface ChildInput {
  config: Record<string, unknown>;
  secretKeys?: string[];
  stack?: string;
  preview?: boolean;
  /** Outputs of the "last update", returned by the program's self stack reference. */
  previousOutputs?: Record<string, unknown>;
  /** Secrets that exist on each site's cluster: site -> "namespace/name" -> {type, data (base64)}. */
  clusterSecrets?: Record<string, Record<string, { type?: string; data: Record<string, string> }>>;
  /** "fake" (default): deterministic PEM placeholders; "openssl": real keys and certificates. */
  tls?: "fake" | "openssl";
}

export interface Registration {
  kind: "register" | "read";
  type: string;
  name: string;
  urn: string;
  parent?: string | undefined;
  custom: boolean;
  /** "<provider urn>::<id>" as the engine receives it. */
  provider?: string | undefined;
  id?: string | undefined;
  /** Serialized inputs: secrets keep Pulumi's secret marker, unknowns its unknown marker. */
  inputs: unknown;
  dependencies: string[];
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  replacementTrigger?: unknown;
  customTimeouts?: { create: string; update: string } | undefined;
  /** Components: what they passed to registerOutputs (serialized). */
  outputs?: unknown;
}

export interface ChildOutput {
  registrations: Registration[];
  errors: string[];
  warnings: string[];
  /** Each stack output; `failed` when it never resolved because a step it waits for failed. */
  outputs?: Record<string, { value: unknown; secret: boolean; failed?: string }>;
}
