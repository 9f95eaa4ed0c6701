/**
 * The one place each etcd factory's options are resolved: defaults filled (the values their
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";

export const DEFAULT_ETCD_ENDPOINT = "127.0.0.1:2379";
export const DEFAULT_ETCD_PREFIX = "/micro/registry/";
export const DEFAULT_ETCD_TIMEOUT_MS = 3000;
export const DEFAULT_ETCD_RECONNECT_MS = 250;

export function resolveEtcdRegistryOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "etcd registry",
    options,
    {
      endpoints: DEFAULT_ETCD_ENDPOINT,
      prefix: DEFAULT_ETCD_PREFIX,
      timeoutMs: DEFAULT_ETCD_TIMEOUT_MS,
      reconnectMs: DEFAULT_ETCD_RECONNECT_MS,
      etcdOptions: {},
    },
    {
      endpoints: must.texts,
      prefix: must.text,
      timeoutMs: must.positive,
      reconnectMs: must.positive,
      client: must.object,
      auth: must.object,
      tls: must.object,
      etcdOptions: must.object,
      layout: must.object,
    },
  );
}

export function resolveEtcdConfigSourceOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "etcd config source",
    options,
    { prefix: "/tsmicro/config/", endpoints: [DEFAULT_ETCD_ENDPOINT], etcdOptions: {} },
    { prefix: must.text, endpoints: must.texts, etcdOptions: must.object },
  );
}
