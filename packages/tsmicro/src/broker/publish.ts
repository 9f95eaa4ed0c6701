/**
 * The shape every broker's publish shares: check the topic and the message, refuse after
 * `disconnect()`, then try until the engine takes the message or the deadline says stop.
 * Retries back off (25 ms doubling, at most 1 s); the error that ends the publish names
 * what it was waiting for and the last error it saw.
 */

import { MicroError } from "../errors.js";
import { startTimer } from "../util/deadline.js";
import type { BrokerMessage, PublishOptions } from "./broker.js";
import { type PublishDeadline, publishDeadline } from "./deadline.js";
import { checkMessage, checkTopic, notConnected } from "./options.js";

export interface PublishAttempt {
  broker: string;
  topic: string;
  message: BrokerMessage;
  options: PublishOptions | undefined;
  /** The broker was disconnected: fail at once with a 503. */
  closed: boolean;
}

/**
 * Runs `attempt(n, deadline)` until it resolves. An attempt that throws is retried while the
 * deadline allows (`retry: false` fails at once instead: for engines that take the message or
 * not, with nothing to retry).
 */
export async function publishWithRetry(
  p: PublishAttempt,
  attempt: (n: number, deadline: PublishDeadline) => Promise<void> | void,
  retry = true,
): Promise<void> {
  checkTopic(p.topic, p.broker);
  checkMessage(p.message, p.broker, p.topic);
  if (p.closed) throw notConnected(p.broker, `publish to "${p.topic}"`);
  const deadline = publishDeadline(p.options, p.broker, p.topic);
  let last: Error | undefined;
  try {
    for (let n = 1; ; n++) {
      deadline.check();
      try {
        await attempt(n, deadline);
        return;
      } catch (err) {
        const stop = deadline.stopReason();
        if (stop !== undefined || !retry) throw stop ?? err;
        last = err as Error;
        deadline.setPhase(`retrying after: ${last.message}`);
        await pause(Math.min(1000, 25 * 2 ** n), deadline);
      }
    }
  } catch (err) {
    throw err instanceof MicroError && last !== undefined && !err.detail.includes(last.message)
      ? err.with({ detail: `${err.detail} (last error: ${last.message})` })
      : err;
  } finally {
    deadline.done();
  }
}

/** Waits `ms`, or less if the deadline comes first. */
function pause(ms: number, deadline: PublishDeadline): Promise<void> {
  return new Promise((resolve) => startTimer(resolve, Math.min(ms, deadline.remainingMs())));
}
