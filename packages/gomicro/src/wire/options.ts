/** Options of go-micro's HTTP transport as tsmicro speaks it. */
import { must, resolveOptions } from "tsmicro/plugin";

export interface GoMicroTransportOptions {
  /** Idle sockets kept per address for reuse (busy ones are never limited). @default 64 */
  maxIdleSockets?: number;
  /** Dial timeout for sockets opened after the first (the first uses the client's), ms. @default 5000 */
  dialTimeoutMs?: number;
  /** Largest HTTP head accepted, bytes. @default 65536 */
  maxHeaderBytes?: number;
  /** Largest message body accepted, bytes (go-micro has no limit of its own). @default 4 MiB */
  maxBodyBytes?: number;
  /** Accept queue of the listener (the kernel caps it at net.core.somaxconn). @default 4096 */
  backlog?: number;
  /** Where refused or broken inbound connections are reported. @default console.warn */
  log?: (message: string) => void;
}

export const DEFAULT_GO_MICRO_TRANSPORT_OPTIONS = {
  maxIdleSockets: 64,
  dialTimeoutMs: 5000,
  maxHeaderBytes: 64 * 1024,
  maxBodyBytes: 4 * 1024 * 1024,
  backlog: 4096,
  log: (message: string) => console.warn(message),
} satisfies Required<GoMicroTransportOptions>;

export type ResolvedWireOptions = Required<GoMicroTransportOptions>;

/**
 * The one place the transport's options are resolved: defaults filled (the values the docs'
 * `@default`s name, checked by a test), values checked (a bad one is a 400 naming the option
 * and what it must be), the result frozen.
 */
export function resolveGoMicroTransportOptions(
  options: GoMicroTransportOptions | undefined,
): ResolvedWireOptions {
  return resolveOptions("go-micro transport", options, DEFAULT_GO_MICRO_TRANSPORT_OPTIONS, {
    maxIdleSockets: must.nonNegativeInteger,
    dialTimeoutMs: must.positive,
    maxHeaderBytes: must.positiveInteger,
    maxBodyBytes: must.positiveInteger,
    backlog: must.positiveInteger,
    log: must.function,
  });
}
