// HTTP/2 keepalive rules of the proxy's gRPC servers and client channels, set against its peers'.
#pragma once

#include <chrono>

#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>

namespace s2s::rpc {

// Temporal's frontend lets clients ping every 10 s (frontend.keepAliveMinTime), with or without
// calls (frontend.keepAlivePermitWithoutStream), and the Go SDK pings every 30 s without calls.
// The proxy stands where that frontend stood, so it accepts at least as much: a ping every 5 s,
// half Temporal's minimum so timer jitter and network delay never make a strike, and, like
// grpc-go, a GOAWAY only on the third early ping in a row (grpc core's server default would
// refuse anything under 5 minutes, and any ping without calls).
inline constexpr std::chrono::milliseconds min_ping_interval_accepted{5000};
inline constexpr int ping_strikes_tolerated = 2;

// The proxy's own TCP channels ping after this long without reading anything, so a dead
// upstream is found on a connection that carries a long, quiet stream. Its peers are Temporal
// frontends (10 s minimum), other proxies like this one, and the Go s2s-proxy, whose grpc-go
// servers keep grpc-go's default policy: no ping without a call, and none within 5 minutes of
// the last unless the server has written since. 5 minutes 30 s never trips any of them.
inline constexpr std::chrono::milliseconds keepalive_time{330000};
// grpc-go's default time to wait for the ping's reply.
inline constexpr std::chrono::milliseconds keepalive_timeout{20000};

// Every gRPC server of the proxy: accepts its callers' keepalive pings as Temporal's frontend does.
void accept_peer_keepalives(grpc::ServerBuilder& builder);

// Every TCP client channel of the proxy. Channels over yamux streams need none: the session's
// own keepalive already finds a dead connection, and ends every stream on it when it does.
void send_keepalives(grpc::ChannelArguments& arguments);

}  // namespace s2s::rpc
