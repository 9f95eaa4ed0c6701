/**
 * The logging middleware's hooks beyond calls and handlers: a line when a client stream ends,
 * per publish, and per delivery to a subscriber. A failed delivery is logged at warn or above
 * whatever its code (the broker redelivers it or dead-letters it: an operator should see
 * that), with the topic and the delivery attempt, so a message that keeps failing shows as
 * attempts 1, 2, 3... of one message id.
 */
import { randomUUID } from "node:crypto";
import type { Level, Logger } from "pino";
import { MicroError, withMetadata } from "tsmicro";
import { HEADER, type Middleware } from "tsmicro/plugin";
import { levelFor } from "./level.js";

const ORDER: readonly Level[] = ["trace", "debug", "info", "warn", "error", "fatal"];

/** The more severe of the two levels. */
function atLeast(level: Level, floor: Level): Level {
  return ORDER.indexOf(level) >= ORDER.indexOf(floor) ? level : floor;
}

export function messageHooks(
  logger: Logger,
  key: string,
  idOf: (md: Readonly<Record<string, string>> | undefined) => string | undefined,
): Pick<Middleware, "stream" | "publish" | "subscriber"> {
  const ms = (started: number) => Math.round((performance.now() - started) * 100) / 100;
  const write = (
    level: Level,
    fields: Record<string, unknown>,
    ok: string,
    failed: string,
    err?: unknown,
  ) => {
    if (!logger.isLevelEnabled(level)) return;
    if (err === undefined) {
      logger[level](fields, ok);
      return;
    }
    const e = MicroError.from(err, typeof fields.service === "string" ? fields.service : undefined);
    logger[level](
      { ...fields, code: e.code, err: { status: e.status, detail: e.detail, chain: e.chain } },
      failed,
    );
  };

  return {
    stream: (next) => async (ctx, req, opts) => {
      const reqId = idOf(opts.metadata) ?? idOf(ctx.metadata) ?? randomUUID();
      const fields = {
        reqId,
        chain: ctx.chain,
        service: req.service,
        endpoint: req.endpoint,
        side: "client",
      };
      const started = performance.now();
      const done = (err?: unknown) =>
        write(levelFor(err), { ...fields, stream: true, ms: ms(started) }, "stream ok", "stream failed", err);
      let stream: Awaited<ReturnType<typeof next>>;
      try {
        stream = await next(ctx, req, { ...opts, metadata: { ...opts.metadata, [key]: reqId } });
      } catch (err) {
        done(err);
        throw err;
      }
      void stream.finished.then(done, done);
      return stream;
    },
    publish: (next) => async (ctx, message, opts) => {
      // The subscriber logs the same request id: it travels in the message headers.
      const reqId = idOf(opts.metadata) ?? idOf(ctx.metadata) ?? randomUUID();
      const fields = { reqId, chain: ctx.chain, topic: message.topic, side: "publisher" };
      const started = performance.now();
      try {
        await next(ctx, message, { ...opts, metadata: { ...opts.metadata, [key]: reqId } });
        write("debug", { ...fields, ms: ms(started) }, "published", "publish failed");
      } catch (err) {
        write(levelFor(err), { ...fields, ms: ms(started) }, "published", "publish failed", err);
        throw err;
      }
    },
    subscriber: (next, info) => async (ctx, payload, event) => {
      const given = idOf(ctx.metadata);
      const reqId = given ?? randomUUID();
      const inner = given === undefined ? withMetadata(ctx, { [key]: reqId }) : ctx;
      const fields = {
        reqId,
        chain: ctx.chain,
        service: info.service,
        topic: info.topic,
        queue: info.queue,
        attempt: event.attempt,
        messageId: ctx.metadata[HEADER.id],
        side: "subscriber",
      };
      const started = performance.now();
      try {
        await next(inner, payload, event);
        write("debug", { ...fields, ms: ms(started) }, "message handled", "subscriber failed");
      } catch (err) {
        write(
          atLeast(levelFor(err), "warn"),
          { ...fields, ms: ms(started) },
          "message handled",
          "subscriber failed",
          err,
        );
        throw err;
      }
    },
  };
}
