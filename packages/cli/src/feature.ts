/** Commands that need a client feature a build may lack fail with 501 and say which. */
import { type Client, MicroError } from "tsmicro";

export function requireFeature(client: Client, method: "stream" | "publish"): void {
  if (typeof (client as unknown as Record<string, unknown>)[method] !== "function") {
    throw new MicroError({
      id: "tsmicro",
      code: 501,
      detail: `${method} is not supported by this build (its client has no ${method}())`,
      retryable: false,
    });
  }
}
