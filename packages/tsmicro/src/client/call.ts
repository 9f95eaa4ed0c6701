/**
 * The whole call path, top to bottom. It runs on one options snapshot read when the call
 * starts, and holds no lock, slot or pooled resource across any await: connections are
 * shared (multiplexed), and nothing here waits for `init()` or for another call.
 */
import type { Codec } from "../codec/codec.js";
import type { Context } from "../context.js";
import { abortError, Code, MicroError, timeout } from "../errors.js";
import type { InflightCall, InflightTable } from "../inflight.js";
import { sleep } from "../util/abort.js";
import { deadlineOf, linkSignal, noop, startTimer, stopTimer, wireTimeoutMs } from "../util/deadline.js";
import { LightAbort } from "../util/light-abort.js";
import { Attempt, type AttemptHooks, PHASE_TEXT, type Snapshot, trackCall } from "./attempt.js";
import { checkDepth } from "./depth.js";
import type { CallOptions } from "./options.js";
import type { Request } from "./request.js";
import { defaultRetry } from "./retry.js";

export async function callOnce(
  snap: Snapshot,
  inflight: InflightTable | undefined,
  ctx: Context,
  req: Request,
  opts: CallOptions,
  hooks?: AttemptHooks,
): Promise<unknown> {
  const o = snap.options;
  const hop = `${req.service}.${req.endpoint}`;

  // 1. Refuse runaway chains before doing anything.
  checkDepth(ctx, req.service, `call to ${hop}`, o.maxCallDepth);

  // 2. The deadline: the smaller of this call's timeout and the caller's remaining time
  //    (Infinity when neither bounds it: no timer is set then).
  const started = Date.now();
  const ownTimeout = opts.requestTimeoutMs ?? o.requestTimeoutMs;
  const deadline = deadlineOf(started, ownTimeout, ctx.deadline);
  const byCaller = ctx.deadline !== undefined && ctx.deadline < started + ownTimeout;

  const record: InflightCall | undefined = trackCall(
    inflight,
    req.service,
    req.endpoint,
    deadline,
    ctx.chain,
    started,
  );

  // 3. One signal for the call: caller's context, call option, deadline.
  const controller = new LightAbort();
  const attempt = new Attempt(snap, req.service, opts, record, hooks);
  // The call's own timeout (not the caller's deadline) expired: a slow node, for its breaker.
  let expired = false;
  const onDeadline = () => {
    expired = !byCaller;
    const node = attempt.node;
    const where = node === undefined ? "" : ` on node ${node.id} (${node.address})`;
    const whose = byCaller ? "the caller's deadline" : `its timeout of ${ownTimeout} ms`;
    controller.abort(
      timeout(
        req.service,
        `call to ${hop} timed out after ${Date.now() - started} ms (${whose}) while ${PHASE_TEXT[attempt.phase] ?? attempt.phase}${where}, attempt ${attempt.number}`,
        { chain: [...ctx.chain, hop] },
      ),
    );
  };
  const timer = startTimer(onDeadline, deadline - started);
  // The caller's context may fire first at the same deadline: report it as this call's timeout.
  const unlinkCtx = linkSignal(ctx.signal, {
    abort: (reason) => (Date.now() >= deadline - 1 ? onDeadline() : controller.abort(reason)),
  });
  const unlinkOpt = opts.signal === undefined ? noop : linkSignal(opts.signal, controller);
  const signal = controller.signal;

  try {
    const codec: Codec = snap.options.codecs.get(req.contentType ?? o.contentType, req.service);
    const body = codec.encode(req.body);
    const retries = opts.retries ?? o.retries;
    const idempotent = opts.idempotent === true;
    const retry = opts.retry ?? o.retry;
    const backoff = opts.backoff ?? o.backoff;
    const metadata = opts.metadata === undefined ? ctx.metadata : { ...ctx.metadata, ...opts.metadata };

    for (;;) {
      // Whether this attempt's request may have reached a handler (written to a connection).
      let reached = false;
      try {
        // 4. Reach a node: select (cached, watch-driven) and a shared connection, never
        //    waiting for another call to give one back.
        const reaching = attempt.connect(signal);
        const conn = reaching instanceof Promise ? await reaching : reaching;

        // 5. Send with the remaining time, metadata and chain; wait for the answer.
        attempt.enter("sent");
        reached = true;
        const res = await conn.request(
          {
            headers: {
              service: req.service,
              endpoint: req.endpoint,
              contentType: codec.contentType,
              timeoutMs: wireTimeoutMs(deadline),
              metadata,
              chain: ctx.chain,
            },
            body,
          },
          signal,
        );
        attempt.succeeded();
        const resCodec =
          res.contentType === codec.contentType ? codec : o.codecs.get(res.contentType, req.service);
        try {
          return resCodec.decode(res.body);
        } catch (err) {
          throw new MicroError({
            id: req.service,
            code: Code.BadGateway,
            detail: `cannot decode the response of ${hop} as ${res.contentType}: ${(err as Error).message}`,
            retryable: false,
          });
        }
      } catch (err) {
        // 6. Retry only what may be retried, only while time remains.
        if (signal.aborted) {
          attempt.abandoned(expired && attempt.phase === "sent");
          throw abortError(signal.reason, req.service);
        }
        let e = MicroError.from(err, req.service);
        attempt.failed(e, byCaller);
        const verdict = defaultRetry(e, reached, idempotent);
        let decision: boolean | number = verdict.retry;
        if (attempt.number <= retries && retry !== undefined)
          decision = retry(ctx, req, attempt.number, e, verdict.retry);
        if (decision === false || attempt.number > retries) {
          if (decision === false && verdict.why !== undefined && retries > 0 && retry === undefined)
            e = e.with({ detail: `${e.detail} (${verdict.why})`, cause: e });
          throw e.chain.length > 0 ? e : e.with({ chain: [...ctx.chain, hop] });
        }
        attempt.enter("backoff");
        const pause = typeof decision === "number" ? decision : backoff(attempt.number);
        const left = Math.max(0, deadline - Date.now());
        await sleep(Math.min(pause, left), signal);
        // A pause that ran to the deadline leaves no time for another attempt. Time out here,
        // in the back-off, rather than race the deadline timer into an attempt that cannot finish.
        if (pause >= left) onDeadline();
        if (signal.aborted) throw abortError(signal.reason, req.service);
        attempt.next();
      }
    }
  } finally {
    attempt.release();
    stopTimer(timer);
    unlinkCtx();
    unlinkOpt();
    if (record !== undefined) inflight!.delete(record);
  }
}
