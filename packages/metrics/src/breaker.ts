/**
 * The circuit breakers of observed clients as a gauge, read at scrape time:
 * `tsmicro_client_breaker_state{client,service,node}` is 0 closed, 1 half-open, 2 open
 * (one series per node the client has a breaker record for; none while the breaker is off).
 */
import { Gauge, type Registry } from "prom-client";
import type { Client } from "tsmicro";

export const BREAKER_STATE_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;

export function breakerGauge(
  register: Registry,
  prefix: string,
  observed: ReadonlyMap<string, Client>,
): void {
  new Gauge({
    name: `${prefix}client_breaker_state`,
    help: "Circuit breaker state of each node an observed client calls: 0 closed, 1 half-open, 2 open",
    labelNames: ["client", "service", "node"],
    registers: [register],
    collect() {
      this.reset();
      for (const [name, c] of observed)
        for (const b of c.breakers())
          this.set({ client: name, service: b.service, node: b.node }, BREAKER_STATE_VALUE[b.state]);
    },
  });
}
