// HTTP/2 keepalive rules of the proxy's gRPC servers and client channels, set against its peers'.
#include "rpc/keepalive.hpp"

namespace s2s::rpc {

void accept_peer_keepalives(grpc::ServerBuilder& builder) {
  // grpc core counts a strike for each ping received within the interval of the one before;
  // without calls the interval becomes two hours unless pings without calls are permitted.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             static_cast<int>(min_ping_interval_accepted.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, ping_strikes_tolerated);
}

void send_keepalives(grpc::ChannelArguments& arguments) {
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(keepalive_time.count()));
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(keepalive_timeout.count()));
  // grpc-go servers by default refuse pings on a connection without calls.
  arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // grpc core stops pinging after two pings without sending data; a quiet stream that only
  // receives, or receives nothing for long, still needs its pings.
  arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
}

}  // namespace s2s::rpc
