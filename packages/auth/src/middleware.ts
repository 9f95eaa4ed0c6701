/**
 * Auth on every path as one middleware (tsmicro's Middleware): the client side attaches the
 * token to calls, streams and publishes; the server side verifies it and checks the rules on
 * unary handlers, stream handlers and subscribers. Register it on a service to get both sides.
 */
import type { Middleware } from "tsmicro/plugin";
import { contextWithAccount } from "./account.js";
import type { Auth } from "./auth.js";
import { authCallWrapper, type TokenSource } from "./client.js";
import type { Rule } from "./rules.js";
import { admit, DEFAULT_AUTH_METADATA_KEY, gateOf, gateWrapper } from "./server.js";

export interface AuthMiddlewareOptions {
  /**
   * Client side: the token that calls, streams and publishes carry. Leave it out on a service
   * that makes no calls of its own. @default undefined (nothing attached)
   */
  tokens?: TokenSource;
  /** Server side: verifies tokens (the public key is enough). Needs `rules`. @default undefined (nothing checked) */
  auth?: Auth;
  /**
   * Server side: checked in priority order before each handler and subscriber; no matching rule
   * denies. A subscriber's resource is `{ service, endpoint: "Subscriber.<topic>" }`, as the
   * registry lists it. @default [] (everything denied)
   */
  rules?: readonly Rule[];
  /** Metadata key (message header, on pub/sub) that carries `Bearer <token>`. @default "authorization" */
  metadataKey?: string;
}

/** The `Middleware` of `@tsmicro/auth`; pass it in `newService({ middleware })` or `newClient({ middleware })`. */
export function authMiddleware(options: AuthMiddlewareOptions): Middleware {
  const key = options.metadataKey ?? DEFAULT_AUTH_METADATA_KEY;
  const { tokens, auth } = options;
  if (tokens === undefined && auth === undefined) {
    throw new TypeError("authMiddleware needs `tokens` (to send a token), `auth` (to check one), or both");
  }
  if (auth === undefined && options.rules !== undefined) {
    throw new TypeError("authMiddleware: `rules` need `auth` to verify tokens with");
  }
  const withToken = async <O extends { metadata?: Record<string, string> }>(
    source: TokenSource,
    opts: O,
  ) => ({
    ...opts,
    metadata: { ...opts.metadata, [key]: `Bearer ${await source.token()}` },
  });
  const client: Pick<Middleware, "call" | "stream" | "publish"> =
    tokens === undefined
      ? {}
      : {
          call: authCallWrapper(tokens, key),
          // A stream is refused before the handler runs, but its 401 comes with the first
          // response, not the open: it is not re-sent with a fresh token as a call is.
          stream: (next) => async (ctx, req, opts) => next(ctx, req, await withToken(tokens, opts)),
          publish: (next) => async (ctx, message, opts) => next(ctx, message, await withToken(tokens, opts)),
        };
  if (auth === undefined) return { name: "auth", ...client };
  const gate = gateOf({ auth, rules: options.rules ?? [], metadataKey: key });
  return {
    name: "auth",
    ...client,
    handler: gateWrapper(gate),
    subscriber: (next, info) => {
      const resource = { service: info.service, endpoint: `Subscriber.${info.topic}` };
      const what = `message on "${info.topic}" for ${info.service}`;
      // A refused message throws: the broker does not redeliver a 4xx (retrying cannot make
      // the token valid) and moves it to the dead-letter topic with the reason, never drops it.
      return async (ctx, payload, event) => {
        const { account, metadata } = await admit(gate, ctx.metadata, resource, what);
        const headers = { ...event.message.headers };
        delete headers[key];
        const stripped = Object.freeze({
          topic: event.topic,
          attempt: event.attempt,
          message: { body: event.message.body, headers },
          ack: () => event.ack(),
          nack: () => event.nack(),
        });
        return next(contextWithAccount(ctx, account, metadata), payload, stripped);
      };
    },
  };
}
