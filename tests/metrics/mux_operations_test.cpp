// The operator endpoints of two proxies in mux mode: /health of each mux side follows its sessions
// as a relay between the proxies is cut and restored; /debug/connections lists the sessions and
// their streams; /metrics counts sessions, reconnects and bytes.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "app/operations.hpp"
#include "app/reload.hpp"
#include "http/http_client.hpp"
#include "proxy/proxy_harness.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;

// A TCP relay on loopback between the two proxies: accepts on its own port and forwards to
// `target`. cut() closes every relayed connection and stops listening; restore() listens again
// on the same port.
class tcp_relay {
 public:
  explicit tcp_relay(int target) : target_(target) {
    listen();
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::runtime_error("pipe");
    thread_ = std::thread([this] { run(); });
  }
  ~tcp_relay() {
    stopping_ = true;
    wake();
    thread_.join();
    drop_all();
    if (listen_fd_ >= 0)
      ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  int port() const { return port_; }
  void cut() { command(false); }
  void restore() { command(true); }

 private:
  static sockaddr_in loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    return address;
  }

  void listen() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto address = loopback(port_);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listen_fd_, 16) != 0)
      throw std::runtime_error("relay cannot listen");
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }

  void command(bool open) {
    {
      std::lock_guard guard(mutex_);
      wanted_open_ = open;
      changed_ = true;
    }
    wake();
    // Applied by the relay thread; wait until it has (bounded).
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard guard(mutex_);
        if (!changed_)
          return;
      }
      std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error("relay did not apply the change");
  }

  void wake() {
    char byte = 1;
    [[maybe_unused]] auto written = ::write(wake_[1], &byte, 1);
  }

  void drop_all() {
    for (auto [from, to] : peers_)
      ::close(from);
    peers_.clear();
  }

  void apply_changes() {
    std::lock_guard guard(mutex_);
    if (!changed_)
      return;
    if (!wanted_open_) {
      drop_all();
      ::close(listen_fd_);
      listen_fd_ = -1;
    } else if (listen_fd_ < 0) {
      listen();
    }
    changed_ = false;
  }

  void run() {
    std::vector<char> buffer(64 * 1024);
    while (!stopping_) {
      apply_changes();
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
      if (listen_fd_ >= 0)
        fds.push_back({listen_fd_, POLLIN, 0});
      for (auto [from, to] : peers_)
        fds.push_back({from, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 200) <= 0)
        continue;
      char drained[64];
      while (::read(wake_[0], drained, sizeof drained) > 0) {
      }
      for (const auto& entry : fds) {
        if (!entry.revents || entry.fd == wake_[0])
          continue;
        if (entry.fd == listen_fd_) {
          int accepted = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (accepted < 0)
            continue;
          int onward = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          auto address = loopback(target_);
          if (::connect(onward, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(accepted);
            ::close(onward);
            continue;
          }
          peers_[accepted] = onward;
          peers_[onward] = accepted;
          continue;
        }
        auto pair = peers_.find(entry.fd);
        if (pair == peers_.end())
          continue;  // closed earlier in this round
        auto got = ::read(entry.fd, buffer.data(), buffer.size());
        bool ok = got > 0;
        for (ssize_t sent = 0; ok && sent < got;) {
          auto put = ::write(pair->second, buffer.data() + sent, static_cast<std::size_t>(got - sent));
          ok = put > 0;
          sent += ok ? put : 0;
        }
        if (!ok) {
          int other = pair->second;
          ::close(entry.fd);
          ::close(other);
          peers_.erase(entry.fd);
          peers_.erase(other);
        }
      }
    }
  }

  int target_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::map<int, int> peers_;  // each relayed socket and the one it forwards to
  std::mutex mutex_;
  bool wanted_open_ = true;
  bool changed_ = false;
  std::atomic<bool> stopping_ = false;
  std::thread thread_;
};

// One proxy in-process with every operator endpoint on an ephemeral port.
struct operated_proxy {
  config::config config;
  caf::actor_system_config actor_config;  // the system keeps a reference to it
  std::unique_ptr<caf::actor_system> system;
  std::optional<actors::started_proxy> proxy;
  std::optional<app::operations> operations;

  explicit operated_proxy(config::cluster_connection connection) {
    connection.remote_health_check = config::health_check{"http", {"127.0.0.1", 0}};
    config.cluster_connections.push_back(std::move(connection));
    config.metrics_listen_address = config::address{"127.0.0.1", 0};
    config.pprof_address = config::address{"127.0.0.1", 0};
    actor_config.set("scheduler.max-threads", std::size_t{4});
    system = std::make_unique<caf::actor_system>(actor_config);
    auto metrics = std::make_shared<metrics::proxy_metrics>();
    auto started = actors::start_proxy(*system, config);
    if (auto* problem = std::get_if<std::string>(&started))
      throw std::runtime_error(*problem);
    proxy = std::get<actors::started_proxy>(std::move(started));
    auto operated = app::start_operations(*system, config, proxy->supervisor, metrics);
    if (auto* problem = std::get_if<std::string>(&operated))
      throw std::runtime_error(*problem);
    operations = std::move(std::get<app::operations>(operated));
  }

  ~operated_proxy() {
    operations.reset();
    caf::scoped_actor self{*system};
    self->request(proxy->supervisor, 30s, actors::stop_atom::value, 0ms).receive([](bool) {}, [](caf::error&) {});
  }

  int port(const std::string& endpoint) const {
    for (const auto& served : proxy->report.endpoints)
      if (served.name == endpoint)
        return served.port;
    throw std::runtime_error("no endpoint " + endpoint);
  }

  int health_port() const { return operations->health.begin()->second->port(); }
  int mux_port() const { return proxy->report.mux.at(0).port; }

  int health() const {
    auto reply = http_get(health_port(), "/health");
    return reply ? reply->status : 0;
  }

  // Polls /health until it answers `status` (bounded); returns the last status.
  int wait_for_health(int status) const {
    int last = 0;
    for (auto until = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < until;) {
      last = health();
      if (last == status)
        break;
      std::this_thread::sleep_for(50ms);
    }
    return last;
  }

  google::protobuf::Struct debug() const {
    google::protobuf::Struct parsed;
    auto reply = http_get(operations->debug->port(), "/debug/connections");
    EXPECT_TRUE(reply);
    if (reply) {
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(reply->body, &parsed).ok()) << reply->body;
    }
    return parsed;
  }

  // The first mux connection of /debug/connections.
  google::protobuf::Struct mux() const {
    auto fields = debug().fields();
    if (!fields.count("mux") || fields.at("mux").list_value().values_size() == 0)
      return {};
    return fields.at("mux").list_value().values(0).struct_value();
  }

  // The value of the first sample whose line starts with `series` (name and labels as written).
  double metric(const std::string& series) const {
    auto reply = http_get(operations->metrics_port, "/metrics");
    if (!reply)
      return -1;
    auto at = reply->body.find("\n" + series + " ");
    if (at == std::string::npos)
      return -1;
    return std::stod(reply->body.substr(at + series.size() + 2));
  }
};

class MuxOperations : public ::testing::Test {
 protected:
  temp_dir files;
  test_certificates certs = make_test_certificates(files.path());
  echo_server cluster_a;
  echo_server cluster_b;
  operated_proxy proxy_b{
      mux_connection("b-to-a", cluster_b.port(), config::connection_type::mux_server, 0, mux_server_tls(certs), 1)};
  tcp_relay relay{proxy_b.mux_port()};
};

double number(const google::protobuf::Struct& object, const std::string& key) {
  auto found = object.fields().find(key);
  return found == object.fields().end() ? -1 : found->second.number_value();
}

TEST_F(MuxOperations, HealthOfEachMuxSideFollowsItsSessionsAsTheConnectionIsCutAndRestored) {
  // A mux-server with no session has room for one.
  EXPECT_EQ(proxy_b.wait_for_health(200), 200);

  operated_proxy proxy_a(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client, relay.port(),
                                        mux_client_tls(certs), 1));
  EXPECT_EQ(proxy_a.wait_for_health(200), 200);
  // muxCount is 1 and the session is up: another would have to wait.
  EXPECT_EQ(proxy_b.wait_for_health(503), 503);
  auto full = http_get(proxy_b.health_port(), "/health");
  ASSERT_TRUE(full);
  EXPECT_NE(full->body.find("another waits until one ends"), std::string::npos) << full->body;

  relay.cut();
  EXPECT_EQ(proxy_a.wait_for_health(503), 503);
  auto down = http_get(proxy_a.health_port(), "/health");
  ASSERT_TRUE(down);
  EXPECT_NE(down->body.find("no live session to 127.0.0.1:" + std::to_string(relay.port())), std::string::npos)
      << down->body;
  EXPECT_EQ(proxy_b.wait_for_health(200), 200);

  relay.restore();
  EXPECT_EQ(proxy_a.wait_for_health(200), 200);
  EXPECT_EQ(proxy_b.wait_for_health(503), 503);

  // The cut shows in A's metrics: one session ended, the dial scheduled again, and up again.
  EXPECT_EQ(proxy_a.metric("s2s_proxy_mux_sessions_active{connection=\"a-to-b\"}"), 1);
  EXPECT_GE(proxy_a.metric("s2s_proxy_mux_sessions_opened_total{connection=\"a-to-b\"}"), 2);
  EXPECT_GE(proxy_a.metric("s2s_proxy_mux_sessions_closed_total{connection=\"a-to-b\"}"), 1);
  EXPECT_GE(proxy_a.metric("s2s_proxy_mux_reconnects_total{connection=\"a-to-b\"}"), 1);
  EXPECT_GE(proxy_a.metric("s2s_proxy_actor_restarts_total{kind=\"mux_session\"}"), 1);
}

TEST_F(MuxOperations, DebugListsTheSessionsAndStreamsOpenNowAndMetricsCountTheirTraffic) {
  operated_proxy proxy_a(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client, relay.port(),
                                        mux_client_tls(certs), 1));
  ASSERT_EQ(proxy_a.wait_for_health(200), 200);
  // Each proxy opens one stream for its outbound channel on the session: two in all, once both are up.
  google::protobuf::Struct mux;
  for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
    mux = proxy_a.mux();
    if (number(mux, "streamsLive") == 2)
      break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(mux.fields().at("name").string_value(), "a-to-b mux");
  EXPECT_EQ(number(mux, "sessionsLive"), 1);
  EXPECT_EQ(number(mux, "streamsLive"), 2);
  const auto& sessions = mux.fields().at("sessions").list_value();
  ASSERT_EQ(sessions.values_size(), 1);
  const auto& session = sessions.values(0).struct_value();
  EXPECT_EQ(session.fields().at("state").string_value(), "up");
  EXPECT_EQ(session.fields().at("peer").string_value().rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(number(session, "liveStreams"), 2);
  EXPECT_GT(number(session, "outboundChannelStream"), 0);

  // A call through the session moves A's byte counters.
  double sent_before = proxy_a.metric("s2s_proxy_mux_bytes_sent_total{connection=\"a-to-b\"}");
  auto stub = v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(proxy_a.port("a-to-b outbound"))));
  v1::EchoRequest request;
  request.set_payload(std::string(4096, 'x'));
  auto result = call_unary(*stub, request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_GE(proxy_a.metric("s2s_proxy_mux_bytes_sent_total{connection=\"a-to-b\"}"), sent_before + 4096);
  EXPECT_GE(proxy_a.metric("s2s_proxy_mux_bytes_received_total{connection=\"a-to-b\"}"), 4096);
  EXPECT_EQ(proxy_a.metric("s2s_proxy_actors_live{kind=\"mux_session\"}"), 1);
  EXPECT_EQ(proxy_a.metric("s2s_proxy_actors_live{kind=\"mux_connection\"}"), 1);

  relay.cut();
  ASSERT_EQ(proxy_a.wait_for_health(503), 503);
  // With the connection cut, no session is up and no stream is open.
  mux = proxy_a.mux();
  EXPECT_EQ(number(mux, "sessionsLive"), 0);
  EXPECT_EQ(number(mux, "streamsLive"), 0);
}

TEST_F(MuxOperations, AReloadOfTranslationKeepsTheSessionItsStreamsAndTheCallsOnThem) {
  operated_proxy proxy_a(mux_connection("a-to-b", cluster_a.port(), config::connection_type::mux_client, relay.port(),
                                        mux_client_tls(certs), 1));
  ASSERT_EQ(proxy_a.wait_for_health(200), 200);
  google::protobuf::Struct before;
  for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
    before = proxy_a.mux();
    if (number(before, "streamsLive") == 2)
      break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(number(before, "streamsLive"), 2);
  auto channel_stream =
      number(before.fields().at("sessions").list_value().values(0).struct_value(), "outboundChannelStream");

  // A client stream held open across the reload.
  auto stub = v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(proxy_a.port("a-to-b outbound"))));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::EchoResponse response;
  auto writer = stub->ClientStream(&context, &response);
  v1::EchoRequest request;
  request.set_payload("before ");
  ASSERT_TRUE(writer->Write(request));
  ASSERT_TRUE(cluster_b.calls().wait_for_in_flight(1, 10s));

  auto running = proxy_a.config;
  auto next = running;
  next.cluster_connections[0].namespace_mappings = {{"orders", "orders.acct7"}};
  next.cluster_connections[0].acl = config::acl_policy{std::vector<std::string>{"DescribeCluster"}, std::nullopt};
  app::apply_reload(running, next, *proxy_a.proxy->translation, std::nullopt, "the test's config");
  EXPECT_EQ(running.cluster_connections[0].namespace_mappings, next.cluster_connections[0].namespace_mappings);
  EXPECT_EQ(running.cluster_connections[0].acl, next.cluster_connections[0].acl);

  request.set_payload("after");
  EXPECT_TRUE(writer->Write(request));
  writer->WritesDone();
  auto status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.payload(), "before after");

  auto after = proxy_a.mux();
  EXPECT_EQ(number(after, "sessionsEstablished"), number(before, "sessionsEstablished"));
  EXPECT_EQ(number(after, "sessionsEnded"), 0);
  EXPECT_EQ(number(after, "streamsLive"), 2);
  EXPECT_EQ(number(after.fields().at("sessions").list_value().values(0).struct_value(), "outboundChannelStream"),
            channel_stream);
  EXPECT_EQ(proxy_a.health(), 200);
}

}  // namespace
}  // namespace s2s::testing
