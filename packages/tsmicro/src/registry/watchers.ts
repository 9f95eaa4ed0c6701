/**
 * Fan-out of registry events to watchers, with per-watcher service filter and signal.
 * Registry implementations outside the core build their `watch()` on `createWatcherSet`.
 */
import { AsyncQueue } from "../util/queue.js";
import type { RegistryEvent, Watcher, WatchOptions } from "./registry.js";

export class WatcherSet {
  readonly #watchers = new Set<{ queue: AsyncQueue<RegistryEvent>; service: string | undefined }>();
  readonly #onEmpty: (() => void) | undefined;

  constructor(onEmpty?: () => void) {
    this.#onEmpty = onEmpty;
  }

  get size(): number {
    return this.#watchers.size;
  }

  add(options: WatchOptions = {}): Watcher {
    const entry = {
      service: options.service,
      queue: new AsyncQueue<RegistryEvent>(() => {
        this.#watchers.delete(entry);
        options.signal?.removeEventListener("abort", stop);
        if (this.#watchers.size === 0) this.#onEmpty?.();
      }),
    };
    const stop = () => entry.queue.end();
    this.#watchers.add(entry);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener("abort", stop, { once: true });
    return {
      stop,
      [Symbol.asyncIterator]: () => entry.queue[Symbol.asyncIterator](),
    };
  }

  emit(events: readonly RegistryEvent[]): void {
    for (const e of events) {
      for (const w of this.#watchers) {
        if (w.service === undefined || w.service === e.service.name) w.queue.push(e);
      }
    }
  }

  stopAll(): void {
    for (const w of [...this.#watchers]) w.queue.end();
  }
}

/** A fan-out for a registry's `watch()`; `onEmpty` runs when the last watcher stops. */
export function createWatcherSet(onEmpty?: () => void): WatcherSet {
  return new WatcherSet(onEmpty);
}
