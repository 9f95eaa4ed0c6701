/**
 * @tsmicro/gomicro: tsmicro as a member of a go-micro v4 fleet. go-micro's registry records
 * (etcd and NATS layouts), its HTTP RPC wire (transport + Micro-* headers + codecs by content
 * type) and its broker format, so tsmicro nodes and go-micro v4.10.2 nodes find and call each other.
 */

export {
  createGoMicroNatsBroker,
  type GoMicroNatsBrokerOptions,
  goMicroNatsMessageFormat,
} from "./broker.js";
export {
  createJsonRpcCodec,
  createOctetStreamCodec,
  createProtoRpcCodec,
  JSON_RPC,
  OCTET_STREAM,
  PROTO_RPC,
  withGoMicroCodecs,
} from "./codecs.js";
export {
  createGoMicroEtcdRegistry,
  GO_MICRO_ETCD_PREFIX,
  type GoMicroEtcdRegistryOptions,
  goMicroEtcdLayout,
} from "./etcd.js";
export {
  createGoMicroHttpBroker,
  DEFAULT_GO_MICRO_HTTP_BROKER_OPTIONS,
  GO_MICRO_HTTP_BROADCAST_VERSION,
  GO_MICRO_HTTP_BROKER_SERVICE,
  type GoMicroHttpBrokerOptions,
} from "./http-broker.js";
export {
  createGoMicroNatsRegistry,
  DEFAULT_GO_MICRO_NATS_REGISTRY_OPTIONS,
  type GoMicroNatsRegistryOptions,
} from "./nats.js";
export {
  type GoMicroEndpoint,
  type GoMicroNode,
  type GoMicroService,
  type GoMicroValue,
  goMicroRecordOf,
  goMicroRecordsOf,
  isGoMicroValue,
  rowsOfGoMicroRecord,
  rowsOfGoMicroService,
} from "./record.js";
export {
  createGoMicroTransport,
  DEFAULT_GO_MICRO_TRANSPORT_OPTIONS,
  GO_MICRO_TRANSPORT_NAME,
  type GoMicroTransportOptions,
} from "./transport.js";
