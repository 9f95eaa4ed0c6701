/**
 * Registry: where services announce their nodes and clients find them (go-micro's
 * registry package). Every implementation runs the conformance suite in `tsmicro/testing`.
 */

export interface Node {
  /** Unique per process instance, e.g. `greeter-5f0c...`. */
  id: string;
  /** `host:port` the node's transport listens on. */
  address: string;
  metadata: Record<string, string>;
}

export interface Endpoint {
  /** `Class.method`. */
  name: string;
  /** Free-form description of the request and response shapes (for the CLI and dashboard). */
  request?: unknown;
  response?: unknown;
  metadata?: Record<string, string>;
}

/** A service as registered: its name, version, endpoints and nodes. */
export interface Service {
  name: string;
  version: string;
  metadata: Record<string, string>;
  endpoints: Endpoint[];
  nodes: Node[];
}

export type RegistryEventType = "create" | "update" | "delete";

/** A change to one node; `service.nodes` holds just that node. */
export interface RegistryEvent {
  type: RegistryEventType;
  service: Service;
}

export interface RegisterOptions {
  /** The node disappears this long after its last registration unless registered again. 0 = never. */
  ttlMs?: number;
}

export interface WatchOptions {
  /** Only events for this service. */
  service?: string;
  /** Ends the iteration. */
  signal?: AbortSignal;
}

export interface Watcher extends AsyncIterable<RegistryEvent> {
  /** Ends the iteration; pending `next()` calls resolve as done. */
  stop(): void;
}

/** Service discovery (go-micro's registry.Registry): register, look up, watch. */
export interface Registry {
  /** Says which registry this is and where, for error messages (`local (/tmp/tsmicro-registry)`). */
  readonly name: string;
  /** Registers (or refreshes) every node in `service.nodes`. */
  register(service: Service, options?: RegisterOptions): Promise<void>;
  /** Removes every node in `service.nodes`. */
  deregister(service: Service): Promise<void>;
  /** One entry per version of the service, each with its live nodes; [] when unknown. */
  getService(name: string): Promise<Service[]>;
  /** Every service and version known, with nodes. */
  listServices(): Promise<Service[]>;
  watch(options?: WatchOptions): Watcher;
  /** Releases connections and timers (does not deregister). */
  close(): Promise<void>;
}

/** One node of one service version as registries store it: the unit of registration and expiry. */
export interface RegistryRow {
  name: string;
  version: string;
  metadata: Record<string, string>;
  endpoints: Endpoint[];
  node: Node;
  /** Epoch ms, or 0 for no expiry. */
  expiresAt: number;
}
