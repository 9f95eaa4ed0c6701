/** Options of the gRPC transport, with their defaults. */
import type { Settings } from "node:http2";

export interface GrpcTlsOptions {
  /** PEM certificate of this side: the server's on listen; a client certificate on dial (mutual TLS). @default none */
  cert?: string | Buffer;
  /** PEM key of `cert`. @default none */
  key?: string | Buffer;
  /** PEM CA certificate(s) trusted for the peer's certificate. @default Node's bundled root CAs */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client: the name the server's certificate must carry. @default the dialled host */
  serverName?: string;
  /** Server: ask clients for a certificate signed by `ca` and refuse those without one. @default false */
  requestClientCert?: boolean;
}

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

export function http2Settings(o: ResolvedGrpcOptions): Settings {
  return {
    initialWindowSize: o.streamWindowBytes,
    maxHeaderListSize: 64 * 1024,
    maxConcurrentStreams: o.maxConcurrentStreams,
  };
}
