// A unary gRPC Echo method whose messages are raw bytes (no protobuf encode/decode on either side),
// so that gRPC is measured as transport + HTTP/2 framing only.
const bytes = (b) => b;

export const echoService = {
  Echo: {
    path: "/bench.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
};
