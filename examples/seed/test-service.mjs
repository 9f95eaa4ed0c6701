// The go-micro #2708 scenario: FuncA calls FuncB, which re-initialises the shared client
// while calling FuncC through it. In go-micro v4.10.2 this stalls the chain.
import { newRequest } from "tsmicro";

/**
 * @param {() => import("tsmicro").Client} client  the client the handlers call through
 * @param {() => string} address                    where TestService listens
 * @param {(client: import("tsmicro").Client) => unknown} reinit  the concurrent re-configuration
 */
export function createTestService(client, address, reinit) {
  let storm = 0;
  return new (class TestService {
    async FuncA(ctx) {
      await client().call(ctx, newRequest("TestService", "TestService.FuncB", {}), { address: address() });
      return {};
    }
    async FuncB(ctx) {
      void reinit(client(), storm++); // concurrent re-configuration, not awaited
      await client().call(ctx, newRequest("TestService", "TestService.FuncC", {}), { address: address() });
      return {};
    }
    async FuncC() {
      return {};
    }
  })();
}

/** What FuncB does to the client: retries, and every 50th time a pool change that replaces the pool. */
export function stormInit(client, i) {
  client.init(i % 50 === 0 ? { retries: 2, poolSize: 1 + (i % 7) } : { retries: 1 + (i % 3) });
}
