/**
 * The whole call path, top to bottom. It runs on one options snapshot read when the call
 * starts, and holds no lock, slot or pooled resource across any await: connections are
 * shared (multiplexed), and nothing here waits for `init()` or for another call.
 */
import type { Codec } from "../codec/codec.js";
import { type Context, linkSignal } from "../context.js";
import { abortError, Code, MicroError, timeout } from "../errors.js";
import { type CallPhase, type InflightCall, type InflightTable, setPhase } from "../inflight.js";
import type { Node } from "../registry/registry.js";
import type { Selector } from "../selector/selector.js";
import { isTransportFailure } from "../transport/failure.js";
import type { Pool } from "../transport/pool.js";
import type { Connection } from "../transport/transport.js";
import { abortable, sleep } from "../util/abort.js";
import { LightAbort } from "../util/light-abort.js";
import { checkDepth } from "./depth.js";
import type { CallOptions, ClientOptions } from "./options.js";
import type { Request } from "./request.js";

/** Everything a call needs, fixed for its whole life. */
export interface Snapshot {
  readonly options: Readonly<ClientOptions>;
  readonly pool: Pool;
  readonly selector: Selector;
}

const PHASE_TEXT: Record<CallPhase, string> = {
  selecting: "selecting a node",
  dialing: "dialing",
  sent: "waiting for the response",
  backoff: "backing off before a retry",
  queued: "waiting for a concurrency slot",
  handling: "handling",
  streaming: "streaming",
};

export async function callOnce(
  snap: Snapshot,
  inflight: InflightTable | undefined,
  ctx: Context,
  req: Request,
  opts: CallOptions,
): Promise<unknown> {
  const o = snap.options;
  const hop = `${req.service}.${req.endpoint}`;

  // 1. Refuse runaway chains before doing anything.
  checkDepth(ctx, req.service, `call to ${hop}`, o.maxCallDepth);

  // 2. The deadline: the smaller of this call's timeout and the caller's remaining time.
  const started = Date.now();
  const ownTimeout = opts.requestTimeoutMs ?? o.requestTimeoutMs;
  const deadline = Math.min(started + ownTimeout, ctx.deadline ?? Number.POSITIVE_INFINITY);
  const byCaller = ctx.deadline !== undefined && ctx.deadline < started + ownTimeout;

  const record: InflightCall | undefined = inflight?.add(
    "client",
    req.service,
    req.endpoint,
    undefined,
    "selecting",
    deadline,
    ctx.chain,
    started,
  );

  // 3. One signal for the call: caller's context, call option, deadline.
  const controller = new LightAbort();
  let node: Node | undefined;
  // The node an attempt is counted against in the selector (least-in-flight), until it ends.
  let busy: Node | undefined;
  const release = () => {
    if (busy !== undefined) snap.selector.finished?.(req.service, busy);
    busy = undefined;
  };
  let attempt = 1;
  let phase: CallPhase = "selecting";
  const onDeadline = () => {
    const where = node === undefined ? "" : ` on node ${node.id} (${node.address})`;
    const whose = byCaller ? "the caller's deadline" : `its timeout of ${ownTimeout} ms`;
    controller.abort(
      timeout(
        req.service,
        `call to ${hop} timed out after ${Date.now() - started} ms (${whose}) while ${PHASE_TEXT[phase]}${where}, attempt ${attempt}`,
        { chain: [...ctx.chain, hop] },
      ),
    );
  };
  const timer = setTimeout(onDeadline, deadline - started);
  // The caller's context may fire first at the same deadline: report it as this call's timeout.
  const unlinkCtx = linkSignal(ctx.signal, {
    abort: (reason) => (Date.now() >= deadline - 1 ? onDeadline() : controller.abort(reason)),
  });
  const unlinkOpt = opts.signal === undefined ? noop : linkSignal(opts.signal, controller);
  const signal = controller.signal;
  const enter = (p: CallPhase) => {
    if (phase === p) return;
    phase = p;
    setPhase(record, p);
  };

  try {
    const codec: Codec = snap.options.codecs.get(req.contentType ?? o.contentType, req.service);
    const body = codec.encode(req.body);
    const retries = opts.retries ?? o.retries;
    const metadata = opts.metadata === undefined ? ctx.metadata : { ...ctx.metadata, ...opts.metadata };
    const addresses =
      opts.address === undefined
        ? undefined
        : typeof opts.address === "string"
          ? [opts.address]
          : opts.address;

    for (;;) {
      try {
        // 4. Select a node: a fixed address list, or the selector (cached, watch-driven).
        if (attempt > 1) enter("selecting");
        if (addresses !== undefined) {
          const address = addresses[(attempt - 1) % addresses.length]!;
          node = { id: address, address, metadata: {} };
        } else {
          node = (await abortable(snap.selector.select(req.service, opts.select), signal))();
          snap.selector.started?.(req.service, node);
          busy = node;
        }
        if (record !== undefined) record.node = node.id;

        // 5. A shared connection: never waits for another call to give one back.
        let conn: Connection | Promise<Connection> = snap.pool.get(
          node.address,
          opts.dialTimeoutMs ?? o.dialTimeoutMs,
          signal,
        );
        if (conn instanceof Promise) {
          enter("dialing");
          conn = await conn;
        }

        // 6. Send with the remaining time, metadata and chain; wait for the answer.
        enter("sent");
        const res = await conn.request(
          {
            headers: {
              service: req.service,
              endpoint: req.endpoint,
              contentType: codec.contentType,
              timeoutMs: deadline - Date.now(),
              metadata,
              chain: ctx.chain,
            },
            body,
          },
          signal,
        );
        release();
        if (addresses === undefined) snap.selector.mark(req.service, node);
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
        release();
        // 7. Retry only what may be retried, only while time remains.
        if (signal.aborted) throw abortError(signal.reason, req.service);
        const e = MicroError.from(err, req.service);
        if (node !== undefined && addresses === undefined && isTransportFailure(e)) {
          snap.selector.mark(req.service, node, e);
        }
        if (!e.retryable || attempt > retries)
          throw e.chain.length > 0 ? e : e.with({ chain: [...ctx.chain, hop] });
        enter("backoff");
        await sleep(Math.min(o.backoff(attempt), Math.max(0, deadline - Date.now())), signal);
        if (signal.aborted) throw abortError(signal.reason, req.service);
        attempt++;
        if (record !== undefined) record.attempt = attempt;
      }
    }
  } finally {
    release();
    clearTimeout(timer);
    unlinkCtx();
    unlinkOpt();
    if (record !== undefined) inflight!.delete(record);
  }
}

function noop() {}
