/**
 * The middleware hooks beyond calls and handlers: client streams (opened to finished), published
 * messages (per topic) and handled messages (per service and topic), each with a count, errors
 * by MicroError code, a duration histogram and an in-flight gauge.
 */
import type { Registry } from "prom-client";
import { MicroError } from "tsmicro";
import type { Middleware } from "tsmicro/plugin";
import { EndpointSeries } from "./series.js";

export function messageMiddleware(
  register: Registry,
  name: (suffix: string) => string,
  buckets: readonly number[],
  maxTopics: number,
): Pick<Middleware, "stream" | "publish" | "subscriber"> {
  const streams = new EndpointSeries(buckets);
  const published = new EndpointSeries(buckets, ["topic"], maxTopics);
  // Subscriber topics are the service's own subscriptions: bounded by the code, no cap needed.
  const handled = new EndpointSeries(buckets, ["service", "topic"]);
  streams.register(register, name, "Client streams opened by this process's clients", {
    count: "client_streams_total",
    errors: "client_stream_errors_total",
    duration: "client_stream_duration_seconds",
    inflight: "client_streams_inflight",
  });
  published.register(register, name, "Messages published by this process's clients", {
    count: "messages_published_total",
    errors: "publish_errors_total",
    duration: "publish_duration_seconds",
    inflight: "publishes_inflight",
  });
  handled.register(register, name, "Message deliveries handled by this process's subscribers", {
    count: "messages_handled_total",
    errors: "subscriber_errors_total",
    duration: "subscriber_duration_seconds",
    inflight: "subscribers_inflight",
  });
  const seconds = (started: number) => (performance.now() - started) / 1000;

  return {
    // From the open to the end of the stream (`finished`), which comes after the open resolves.
    stream: (next) => async (ctx, req, opts) => {
      const e = streams.entry(req.service, req.endpoint);
      e.inflight++;
      const started = performance.now();
      let stream: Awaited<ReturnType<typeof next>>;
      try {
        stream = await next(ctx, req, opts);
      } catch (err) {
        streams.finish(e, seconds(started), MicroError.from(err, req.service).code);
        throw err;
      }
      void stream.finished.then(
        (err) => streams.finish(e, seconds(started), err?.code),
        (err: unknown) => streams.finish(e, seconds(started), MicroError.from(err, req.service).code),
      );
      return stream;
    },
    publish: (next) => async (ctx, message, opts) => {
      const e = published.entry(message.topic);
      e.inflight++;
      const started = performance.now();
      let code: number | undefined;
      try {
        return await next(ctx, message, opts);
      } catch (err) {
        code = MicroError.from(err).code;
        throw err;
      } finally {
        published.finish(e, seconds(started), code);
      }
    },
    // Each delivery counts, redeliveries included: a message that fails twice and then
    // succeeds is three handled, two errors.
    subscriber: (next, info) => async (ctx, payload, event) => {
      const e = handled.entry(info.service, info.topic);
      e.inflight++;
      const started = performance.now();
      let code: number | undefined;
      try {
        return await next(ctx, payload, event);
      } catch (err) {
        code = MicroError.from(err, info.service).code;
        throw err;
      } finally {
        handled.finish(e, seconds(started), code);
      }
    },
  };
}
