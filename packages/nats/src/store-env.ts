/** `MICRO_STORE=nats` with `MICRO_STORE_ADDRESS` (servers): tsmicro's storeFromEnv imports this. */
import type { Store } from "tsmicro";
import type { StoreFromAddress } from "tsmicro/plugin";
import { createNatsStore } from "./store.js";

export const storeFromAddress: StoreFromAddress = (_kind, options): Store => {
  const { address, ...rest } = options;
  return createNatsStore({ ...rest, ...(address === undefined ? {} : { servers: address.split(",") }) });
};
