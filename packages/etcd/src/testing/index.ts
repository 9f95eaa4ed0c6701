/** Test helpers: a throw-away etcd server on free loopback ports. */
export { type EtcdServer, type StartEtcdOptions, startEtcd } from "./etcd-server.js";
