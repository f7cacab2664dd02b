// The debug endpoint: /debug/connections, a JSON picture of connections, listeners and actors.
#include "debug/connections.hpp"

#include <cstdio>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "shards/lcm_shard_map.hpp"

namespace s2s::debug {
namespace {

constexpr std::chrono::seconds answer_bound{1};

std::string endpoint_json(const std::optional<config::endpoint>& endpoint) {
  if (!endpoint)
    return "null";
  return "{\"address\": " + json_string(endpoint->addr.to_string()) +
         ", \"tls\": " + (endpoint->tls.enabled() ? "true" : "false") + "}";
}

std::string side_json(const config::side_config& side, const std::optional<config::health_check>& health) {
  std::string out = "{\"connectionType\": " + json_string(config::to_string(side.type));
  out += ", \"tcpClient\": " + endpoint_json(side.tcp_client);
  out += ", \"tcpServer\": " + endpoint_json(side.tcp_server);
  if (side.type != config::connection_type::tcp) {
    out += ", \"muxCount\": " + std::to_string(side.mux_count);
    out += ", \"muxAddress\": " + endpoint_json(side.mux_address);
  }
  out += ", \"healthCheck\": " + (health ? json_string(health->listen_address.to_string()) : "null");
  return out + "}";
}

template <typename Reply, typename Actor>
std::optional<Reply> ask(caf::scoped_actor& self, const Actor& actor) {
  std::optional<Reply> reply;
  if (actor)
    self->request(actor, answer_bound, actors::stats_atom::value)
        .receive([&](Reply& answer) { reply = std::move(answer); }, [](caf::error&) {});
  return reply;
}

std::string names_json(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i ? ", " : "") + json_string(names[i]);
  return out + "]";
}

// This instance in its side's group: itself, each peer, the joinAddrs entries, the latest notices.
std::string group_json(const std::optional<actors::member_view>& group) {
  if (!group)
    return "{\"state\": \"unresponsive\"}";
  std::string out = "{\"nodeName\": " + json_string(group->self.node_name);
  out += ", \"incarnation\": " + std::to_string(group->self.incarnation);
  out += ", \"proxyAddress\": " + json_string(group->self.proxy_address);
  out += ", \"port\": " + std::to_string(group->port);
  out += ", \"sessions\": " + std::to_string(group->sessions);
  out += ", \"failureBoundMs\": " + std::to_string(group->detection_bound.count());
  out += ", \"carriers\": " + names_json(group->carriers);
  out += ", \"peers\": [";
  for (std::size_t i = 0; i < group->members.size(); ++i) {
    const auto& peer = group->members[i];
    out += (i ? ", " : "") + std::string("{\"nodeName\": ") + json_string(peer.identity.node_name);
    out += ", \"state\": " + json_string(cluster::to_string(peer.state));
    out += ", \"incarnation\": " + std::to_string(peer.identity.incarnation);
    out += ", \"proxyAddress\": " + json_string(peer.identity.proxy_address);
    out += ", \"connected\": " + std::string(peer.connected ? "true" : "false");
    out += ", \"left\": " + std::string(peer.left ? "true" : "false");
    out += ", \"sessions\": " + std::to_string(peer.sessions) + "}";
  }
  out += "], \"joins\": [";
  for (std::size_t i = 0; i < group->joins.size(); ++i) {
    const auto& join = group->joins[i];
    out += (i ? ", " : "") + std::string("{\"address\": ") + json_string(join.address);
    out += ", \"phase\": " + json_string(join.phase);
    out += ", \"failures\": " + std::to_string(join.failures);
    out += ", \"lastError\": " + json_string(join.last_error) + "}";
  }
  out += "], \"notices\": " + names_json(group->notices);
  return out + "}";
}

std::string mux_json(caf::actor_system& system, const actors::mux_report& mux) {
  auto view = look_at(system, mux);
  std::string out = "{\"name\": " + json_string(mux.name) + ", \"address\": " + json_string(mux.address) +
                    ", \"port\": " + std::to_string(mux.port);
  if (!view.connection)
    return out + ", \"state\": \"unresponsive\"}";
  const auto& stats = *view.connection;
  out += ", \"state\": \"running\", \"sessionsLive\": " + std::to_string(stats.sessions_live);
  out += ", \"sessionsPending\": " + std::to_string(stats.sessions_pending);
  out += ", \"sessionsEstablished\": " + std::to_string(stats.sessions_established);
  out += ", \"sessionsFailed\": " + std::to_string(stats.sessions_failed);
  out += ", \"sessionsEnded\": " + std::to_string(stats.sessions_ended);
  out += ", \"sessionsRefused\": " + std::to_string(stats.refusals.total());
  out += ", \"refusedByCause\": {";
  for (std::size_t i = 0; i < actors::mux_refusal_names.size(); ++i)
    out += (i ? ", \"" : "\"") + std::string(actors::mux_refusal_names[i]) +
           "\": " + std::to_string(stats.refusals.by_cause[i]);
  out += "}, \"connectionsWaiting\": " + std::to_string(stats.connections_waiting);
  out += ", \"dialsQueued\": " + std::to_string(stats.dials_queued);
  out += ", \"streamsLive\": " + std::to_string(view.live_streams());
  out += ", \"sessions\": [";
  for (std::size_t i = 0; i < view.sessions.size(); ++i) {
    const auto& session = view.sessions[i];
    out += (i ? ", " : "") + std::string("{\"peer\": ") + json_string(session.peer);
    out += ", \"state\": " + std::string(session.up ? "\"up\"" : "\"connecting\"");
    out += ", \"liveStreams\": " + std::to_string(session.live_streams);
    out += ", \"outboundChannelStream\": " +
           (session.channel_stream ? std::to_string(session.channel_stream) : std::string("null"));
    out += ", \"streamsAccepted\": " + std::to_string(session.streams_accepted);
    out += ", \"channelsOpened\": " + std::to_string(session.channels_opened) + "}";
  }
  out += "]";
  if (mux.member) {
    out += ", \"group\": " + group_json(view.group);
    out += ", \"forwardedCalls\": " + (view.outbound ? std::to_string(view.outbound->forwarded) : std::string("null"));
  }
  return out + "}";
}

}  // namespace

std::size_t mux_view::live_streams() const {
  std::size_t streams = 0;
  for (const auto& session : sessions)
    streams += session.live_streams;
  return streams;
}

mux_view look_at(caf::actor_system& system, const actors::mux_report& mux, bool with_sessions) {
  caf::scoped_actor self{system};
  mux_view view;
  view.connection = ask<actors::mux_connection_stats>(self, mux.connection);
  if (view.connection && with_sessions)
    for (const auto& session : view.connection->sessions)
      if (auto stats = ask<actors::mux_session_stats>(self, session))
        view.sessions.push_back(std::move(*stats));
  if (mux.member && *mux.member)
    self->request(*mux.member, answer_bound, actors::members_atom::value)
        .receive([&](actors::member_view& answer) { view.group = std::move(answer); }, [](caf::error&) {});
  if (mux.member)
    view.outbound = ask<actors::mux_upstream_stats>(self, mux.outbound);
  return view;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

// Routing: what each cluster is told of the other, and per side the hub's target and source shards (the receiving
// cluster's streams arrive on the outbound side when the local cluster receives).
std::string routing_json(const config::shard_count& shards) {
  auto local = std::to_string(shards.local_shard_count);
  auto remote = std::to_string(shards.remote_shard_count);
  return "{\"mode\": \"routing\", \"localShardCount\": " + local + ", \"remoteShardCount\": " + remote +
         ", \"presentedToLocal\": " + local + ", \"presentedToRemote\": " + remote +
         ", \"outbound\": {\"targetShards\": " + local + ", \"sourceShards\": " + remote + "}" +
         ", \"inbound\": {\"targetShards\": " + remote + ", \"sourceShards\": " + local + "}}";
}

std::string shard_list(const std::vector<std::int32_t>& shards) {
  std::string out = "[";
  for (std::size_t i = 0; i < shards.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shards[i]);
  return out + "]";
}

// A routing hub now: its open streams, and per priority each target's next id and unacked tasks and each
// source's incarnation, last watermark and pending tasks.
std::string routing_view_json(const actors::routing_view& view) {
  std::string out = "{\"targetsOpen\": " + shard_list(view.targets_open);
  out += ", \"sourcesOpen\": " + shard_list(view.sources_open);
  out += ", \"waitingForTargets\": " + std::to_string(view.waiting) + ", \"priorities\": [";
  for (std::size_t p = 0; p < view.priorities.size(); ++p) {
    const auto& priority = view.priorities[p];
    out += (p ? ", " : "") + std::string("{\"priority\": ") + std::to_string(priority.priority) + ", \"targets\": [";
    for (std::size_t i = 0; i < priority.router.targets.size(); ++i) {
      const auto& target = priority.router.targets[i];
      out += (i ? ", " : "") + std::string("{\"shard\": ") + std::to_string(target.shard) +
             ", \"nextTaskId\": " + std::to_string(target.next_task_id) +
             ", \"unacked\": " + std::to_string(target.pending) + "}";
    }
    out += "], \"sources\": [";
    for (std::size_t i = 0; i < priority.router.sources.size(); ++i) {
      const auto& source = priority.router.sources[i];
      out += (i ? ", " : "") + std::string("{\"shard\": ") + std::to_string(source.shard) +
             ", \"generation\": " + std::to_string(source.generation) +
             ", \"watermark\": " + (source.watermark ? std::to_string(*source.watermark) : std::string("null")) +
             ", \"pending\": " + std::to_string(source.pending) + "}";
    }
    out += "]}";
  }
  out += "]";
  if (view.group) {
    const auto& group = *view.group;
    auto owners = [](const std::vector<std::pair<std::int32_t, std::string>>& list) {
      std::string json = "{";
      for (std::size_t i = 0; i < list.size(); ++i)
        json += (i ? ", " : "") + json_string(std::to_string(list[i].first)) + ": " + json_string(list[i].second);
      return json + "}";
    };
    out += ", \"group\": {\"nodeName\": " + json_string(group.node_name) + ", \"members\": [";
    for (std::size_t i = 0; i < group.members.size(); ++i)
      out += (i ? ", " : "") + json_string(group.members[i]);
    out += "], \"sourceOwners\": " + owners(group.source_owners) +
           ", \"targetOwners\": " + owners(group.target_owners) +
           ", \"notesSent\": " + std::to_string(group.notes_sent) +
           ", \"notesReceived\": " + std::to_string(group.notes_received) +
           ", \"restartsAsked\": " + std::to_string(group.restarts_asked) + "}";
  }
  return out + "}";
}

}  // namespace

std::string shard_count_json(const config::shard_count& shards) {
  if (shards.mode == config::shard_count_mode::routing)
    return routing_json(shards);
  if (shards.mode != config::shard_count_mode::lcm)
    return "null";
  auto pair = [](shards::stream_shard_ids ids) {
    return "[" + std::to_string(ids.client) + ", " + std::to_string(ids.server) + "]";
  };
  auto streams = [&](std::int32_t client_count, std::int32_t server_count) {
    std::string out = "[";
    auto all = shards::lcm_shard_map(client_count, server_count).streams();
    for (std::size_t i = 0; i < all.size(); ++i)
      out += (i ? ", " : "") + std::string("{\"opened\": ") + pair(all[i].opened) +
             ", \"mapped\": " + pair(all[i].mapped) + "}";
    return out + "]";
  };
  std::string out = "{\"mode\": \"lcm\", \"localShardCount\": " + std::to_string(shards.local_shard_count);
  out += ", \"remoteShardCount\": " + std::to_string(shards.remote_shard_count);
  out += ", \"presentedShardCount\": " +
         std::to_string(shards::lcm_shard_map(shards.local_shard_count, shards.remote_shard_count).presented_count());
  // Outbound: the local cluster's streams to the remote one; inbound: the remote cluster's to the local one.
  out += ", \"outboundStreams\": " + streams(shards.local_shard_count, shards.remote_shard_count);
  out += ", \"inboundStreams\": " + streams(shards.remote_shard_count, shards.local_shard_count);
  return out + "}";
}

std::string connections_json(const inspection& target) {
  std::string out = "{\"clusterConnections\": [";
  for (std::size_t i = 0; i < target.config.cluster_connections.size(); ++i) {
    const auto& connection = target.config.cluster_connections[i];
    out += (i ? ", " : "") + std::string("{\"name\": ") + json_string(connection.name);
    out += ", \"local\": " + side_json(connection.local, connection.local_health_check);
    out += ", \"remote\": " + side_json(connection.remote, connection.remote_health_check);
    out += ", \"shardCount\": " + shard_count_json(connection.shards) + "}";
  }
  out += "]";

  caf::scoped_actor self{*target.system};
  std::optional<actors::proxy_report> report;
  self->request(target.supervisor, answer_bound, actors::stats_atom::value)
      .receive([&](actors::proxy_report& answer) { report = std::move(answer); }, [](caf::error&) {});
  out += ", \"supervisor\": {\"state\": ";
  out += report ? "\"running\", \"listenerRestarts\": " + std::to_string(report->listener_restarts)
                : std::string("\"unresponsive\"");
  out += "}, \"listeners\": [";
  if (report) {
    for (std::size_t i = 0; i < report->endpoints.size(); ++i) {
      const auto& endpoint = report->endpoints[i];
      std::optional<actors::listener_stats> stats;
      self->request(endpoint.listener, answer_bound, actors::stats_atom::value)
          .receive([&](actors::listener_stats& answer) { stats = answer; }, [](caf::error&) {});
      out += (i ? ", " : "") + std::string("{\"name\": ") + json_string(endpoint.name);
      out += ", \"address\": " + json_string(endpoint.address);
      out += ", \"port\": " + std::to_string(endpoint.port);
      if (stats) {
        out += ", \"state\": \"serving\", \"callsStarted\": " + std::to_string(stats->calls_started);
        out += ", \"callsFailed\": " + std::to_string(stats->calls_failed);
        out += ", \"callsLive\": " + std::to_string(stats->calls_live);
        if (stats->routing)
          out += ", \"routing\": " + routing_view_json(*stats->routing);
      } else {
        out += ", \"state\": \"unresponsive\"";
      }
      out += "}";
    }
  }
  out += "], \"mux\": [";
  if (report)
    for (std::size_t i = 0; i < report->mux.size(); ++i)
      out += (i ? ", " : "") + mux_json(*target.system, report->mux[i]);
  out += "]";

  if (target.translation) {
    out += ", \"schemas\": [";
    bool first = true;
    for (const auto& schema : target.translation->schema_actors()) {
      std::optional<actors::schema_report> loaded;
      self->request(schema, answer_bound, actors::schema_atom::value)
          .receive([&](actors::schema_report& answer) { loaded = std::move(answer); }, [](caf::error&) {});
      out += first ? "" : ", ";
      first = false;
      if (!loaded) {
        out += "{\"state\": \"unresponsive\"}";
        continue;
      }
      out += "{\"source\": " + json_string(loaded->source) + ", \"loaded\": " + (loaded->loaded ? "true" : "false");
      out += ", \"messageTypes\": " + std::to_string(loaded->message_types);
      out += ", \"attempts\": " + std::to_string(loaded->attempts);
      out += ", \"lastProblem\": " + json_string(loaded->last_problem) + "}";
    }
    out += "]";
  }

  if (target.metrics) {
    target.metrics->refresh();
    out += ", \"actors\": {";
    bool first = true;
    for (auto kind : metrics::actor_kinds) {
      auto live = static_cast<long long>(target.metrics->actors.live_of(kind).Value());
      out += (first ? "" : ", ") + json_string(kind) + ": {\"live\": " + std::to_string(live) + "}";
      first = false;
    }
    out += "}";
  }
  for (const auto& part : target.sections)
    out += ", " + json_string(part.name) + ": " + part.json();
  return out + "}\n";
}

std::variant<std::unique_ptr<http::server>, std::string> serve_debug(const config::address& address,
                                                                     std::shared_ptr<const inspection> target) {
  return http::server::start(
      address,
      [target = std::move(target)](std::string_view path) -> http::response {
        if (path == "/debug/connections")
          return {200, "application/json", connections_json(*target)};
        return {404, "text/plain; charset=utf-8", "not found; try /debug/connections\n"};
      },
      "debug", "s2s-debug");
}

}  // namespace s2s::debug
