/** Start-up failures as MicroErrors that name the service and the option to change. */
import { MicroError } from "../errors.js";

/** Why `listen` failed, in the user's terms (not Node's raw errno trace). */
export function listenError(service: string, address: string, err: unknown): MicroError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === "EADDRINUSE"
      ? "the address is already in use (EADDRINUSE); another process listens there"
      : code === "EACCES"
        ? "permission denied (EACCES); ports below 1024 need privileges"
        : code === "EADDRNOTAVAIL"
          ? "the address is not one of this host's (EADDRNOTAVAIL)"
          : (err as Error | undefined)?.message || String(err);
  return new MicroError({
    id: service,
    code: 500,
    detail: `service ${service} could not listen on ${address}: ${why}; choose another with newService({ address }) ("127.0.0.1:0" picks a free port)`,
    retryable: false,
    cause: err,
  });
}
