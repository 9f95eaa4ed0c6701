/** How a long-running command (gateway, watch, subscribe, run, mcp) learns it should stop. */

/** Resolves on SIGINT or SIGTERM, or when `signal` aborts (stdout closed, a test's controller). */
export function untilStopped(...signals: AbortSignal[]): Promise<void> {
  return new Promise<void>((resolve) => {
    // Signal listeners do not keep node running; a watch on an unref'd poll would just exit.
    const alive = setInterval(() => {}, 1 << 30);
    const stop = () => {
      clearInterval(alive);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      for (const s of signals) s.removeEventListener("abort", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    for (const s of signals) {
      if (s.aborted) return stop();
      s.addEventListener("abort", stop, { once: true });
    }
  });
}
