// What the test side sends to a mocked program run and what comes back.

/** Secrets on one cluster: "namespace/name" -> {type, data (base64)}. */
export type ClusterObjects = Record<string, { type?: string; data: Record<string, string> }>;

export interface ChildInput {
  config: Record<string, unknown>;
  secretKeys?: string[];
  stack?: string;
  preview?: boolean;
  /** Outputs of the last update, returned by the program's self stack reference. */
  previousOutputs?: Record<string, unknown>;
  /** Which of those the last update saved as secret (the engine lists them in `secretOutputNames`). */
  previousSecretOutputNames?: string[];
  /** URNs in the stack's state before this run: in a preview, only these have known outputs. */
  existingUrns?: string[];
  /** What exists on each site's cluster before the run (the chart and the program add to it). */
  clusterSecrets?: Record<string, ClusterObjects>;
  /** Sites whose cluster does not answer (a lost site). */
  unreachableSites?: string[];
  /** Reads of a wait before TSB's operator has made its Secrets after a release (default 2). */
  operatorLagPolls?: number;
  /** Sites whose operator never makes its Secrets (it is stuck). */
  operatorStalled?: string[];
  /** Sites whose operator is still reconciling when the update starts (a release installed moments before). */
  operatorReconciling?: string[];
  /** Computed outputs of dynamic resources by resource name (what their create would return). */
  dynamicOutputs?: Record<string, Record<string, unknown>>;
  /** Resources whose create/update fails with this message, by resource name (a dynamic provider that throws). */
  failing?: Record<string, string>;
  /** Fake TLS only: bump to stand for leaf certificates renewed since the last update. */
  certGeneration?: number;
  /** Harness self-test only: the child dies this way before it reports (checks that a crash is reported). */
  dieBeforeResult?: "exit" | "throw";
  /** "fake" (default): deterministic PEM placeholders; "openssl": real keys and certificates. */
  tls?: "fake" | "openssl";
  /**
   * What exists outside the stack and can be imported, by "<type> <import id>": the inputs the
   * provider's Read hands the engine for it (e.g. a helm Release: name, namespace, chart, values =
   * the stored user values, version, timeout; test/harness/mockState.ts cites the source).
   */
  importable?: Record<string, Record<string, unknown>>;
  /** The state of the last update by URN (inputs and outputs as saved): what a `same` step keeps. */
  previousStates?: Record<string, { inputs: unknown; state: unknown; importId?: string }>;
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
  additionalSecretOutputs: string[];
  replacementTrigger?: unknown;
  customTimeouts?: { create: string; update: string } | undefined;
  /** The `import` option's ID, when the program asked to import the resource. */
  importId?: string | undefined;
  /** For an import: the inputs the provider read (the engine's "old" side of the import's diff). */
  imported?: Record<string, unknown>;
  /** Set by test/harness/engine.ts Stack: the inputs the state holds after the update (ignoreChanges applied). */
  stateInputs?: unknown;
  /** Components: what they passed to registerOutputs (serialized). */
  outputs?: unknown;
  /** Custom resources: the state the mocked provider returned (what policies and the next run see). */
  state?: unknown;
  /**
   * Only while dumping (test/harness/registrationDump.ts): the request's other options (aliases,
   * deletedWith, per-property dependencies, ...); runProgram removes it before a test sees the run.
   */
  moreOptions?: Record<string, unknown>;
}

export interface ChildOutput {
  registrations: Registration[];
  errors: string[];
  warnings: string[];
  /** Info-level log lines (progress of a failover). */
  infos: string[];
  /** Each stack output; `failed` when it never resolved because a step it waits for failed. */
  outputs?: Record<string, { value: unknown; secret: boolean; failed?: string }>;
  /** The clusters after the run: what the next run starts from. */
  clustersAfter: Record<string, ClusterObjects>;
  /** Only while dumping: each provider function the program invoked (the mock refuses them all). */
  calls?: Array<{ token: string; provider?: string | undefined; inputs: unknown }>;
}
