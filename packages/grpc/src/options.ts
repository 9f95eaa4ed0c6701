/** Options of the gRPC transport, with their defaults. */
import type { Settings } from "node:http2";
import { must, resolveOptions, type TcpTlsOptions } from "tsmicro/plugin";

/**
 * TLS for the gRPC transport: the same options, with the same names and defaults, as the TCP
 * transport's (`cert`, `key`, `ca`, `requireClientCert`, `serverName`, `minVersion`); an unknown
 * key is refused when the transport is created, and `requireClientCert` without `ca` when it
 * listens.
 */
export type GrpcTlsOptions = TcpTlsOptions;

export interface GrpcTransportOptions {
  /** Serve and dial TLS (HTTP/2 over TLS, ALPN h2). @default plaintext HTTP/2 (h2c) */
  tls?: GrpcTlsOptions;
  /** Largest message sent or accepted, in bytes (gRPC's default). @default 4 MiB */
  maxMessageBytes?: number;
  /**
   * HTTP/2 stream window, and how much a call buffers for a slow reader before it stops
   * reading (HTTP/2 flow control then holds the sender back). @default 1 MiB
   */
  streamWindowBytes?: number;
  /** HTTP/2 connection window, shared by the calls on one connection. @default 16 MiB */
  connectionWindowBytes?: number;
  /** nghttp2's memory limit per connection, in MB. @default 64 */
  maxSessionMemoryMb?: number;
  /**
   * Calls one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, sent by
   * servers; a peer over it gets REFUSED_STREAM). As the TCP transport's per-connection limit.
   * @default 4096
   */
  maxConcurrentStreams?: number;
  /** Sent as `user-agent` by clients. @default "tsmicro-grpc/0.1" */
  userAgent?: string;
}

export const DEFAULT_GRPC_OPTIONS = {
  maxMessageBytes: 4 * 1024 * 1024,
  streamWindowBytes: 1024 * 1024,
  connectionWindowBytes: 16 * 1024 * 1024,
  maxSessionMemoryMb: 64,
  maxConcurrentStreams: 4096,
  userAgent: "tsmicro-grpc/0.1",
} satisfies Required<Omit<GrpcTransportOptions, "tls">>;

export type ResolvedGrpcOptions = Required<Omit<GrpcTransportOptions, "tls">> &
  Pick<GrpcTransportOptions, "tls">;

/**
 * The one place the transport's options are resolved: defaults filled (the values the docs'
 * `@default`s name, checked by a test), values checked (a bad one is a 400 naming the option
 * and what it must be), the result frozen. TLS options are checked by `checkTlsOptions`.
 */
export function resolveGrpcOptions(options: GrpcTransportOptions | undefined): ResolvedGrpcOptions {
  return resolveOptions("grpc transport", options, DEFAULT_GRPC_OPTIONS, {
    tls: must.object,
    maxMessageBytes: must.positiveInteger,
    streamWindowBytes: must.positiveInteger,
    connectionWindowBytes: must.positiveInteger,
    maxSessionMemoryMb: must.positive,
    maxConcurrentStreams: must.positiveInteger,
    userAgent: must.text,
  });
}

export function http2Settings(o: ResolvedGrpcOptions): Settings {
  return {
    initialWindowSize: o.streamWindowBytes,
    maxHeaderListSize: 64 * 1024,
    maxConcurrentStreams: o.maxConcurrentStreams,
  };
}
