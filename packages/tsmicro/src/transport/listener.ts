/**
 * The `Listener` a transport hands back over its bound server: `stopAccepting` closes the
 * server (and tells open connections' peers to go away), `close` then closes what is still
 * open (`closeAll`; by default each connection is destroyed). One shape for every transport (TCP, gRPC, go-micro's wire), so their shutdowns agree.
 */
import type { Listener } from "./transport.js";

export function serverListener(
  server: { close(callback: () => void): unknown },
  address: string,
  open: ReadonlySet<{ destroy(): void }>,
  goAway?: () => void,
  closeAll?: () => Promise<void>,
): Listener {
  let closing: Promise<void> | undefined;
  const stopAccepting = () => {
    closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
    goAway?.();
    return Promise.resolve();
  };
  return {
    address,
    get connections() {
      return open.size;
    },
    stopAccepting,
    async close() {
      await stopAccepting();
      if (closeAll !== undefined) await closeAll();
      else for (const c of open) c.destroy();
      await closing;
    },
  };
}
