// Members in separate actor systems of one process, over loopback through CAF's OpenSSL module with
// certificates made for the test: they find each other, see one go, and refuse a foreign CA and a shared name.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/openssl/manager.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include "actors/membership.hpp"
#include "support/certs.hpp"
#include "support/ports.hpp"
#include "support/temp_dir.hpp"

using namespace s2s;
using namespace s2s::actors;
using namespace std::chrono_literals;

namespace {

// One instance: its own actor system with the group's TLS, and its member actor.
class group_node {
 public:
  group_node(const group_tls& tls, const std::string& name, std::vector<config::address> join = {},
             std::uint16_t port = 0) {
    auto problems = configure_group_tls(config_, tls);
    if (!problems.empty())
      throw std::runtime_error(problems.front());
    config_.set("logger.file-verbosity", caf::atom("quiet"));
    config_.set("logger.console-verbosity", caf::atom("quiet"));
    system_ = std::make_unique<caf::actor_system>(config_);
    cluster::group_plan plan;
    plan.self = {name, 1, "127.0.0.1:6233"};
    plan.timing = {100ms, 100ms, 3};
    plan.bind = {"127.0.0.1", port};
    plan.join = std::move(join);
    auto settings = membership_settings_from(std::move(plan));
    settings.join_retry_max = 400ms;
    member_ = spawn_membership(*system_, std::move(settings), system_->openssl_manager().actor_handle());
  }

  ~group_node() {
    caf::anon_send_exit(member_, caf::exit_reason::user_shutdown);
    member_ = nullptr;
    system_.reset();
  }

  member_view view() {
    caf::scoped_actor self{*system_};
    member_view result;
    self->request(member_, std::chrono::seconds(10), members_atom::value)
        .receive([&](member_view& answer) { result = std::move(answer); },
                 [&](caf::error& error) { ADD_FAILURE() << "members request: " << system_->render(error); });
    return result;
  }

  // Asks for the view until it satisfies the condition; gives up (and fails) after a minute, which only
  // a member that never gets there reaches.
  member_view wait_for(const std::function<bool(const member_view&)>& condition, const std::string& what) {
    auto give_up = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      auto seen = view();
      if (condition(seen))
        return seen;
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "gave up waiting for " << what;
        return seen;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  config::address address() {
    auto seen = wait_for([](const member_view& seen) { return seen.port != 0; }, "the member to listen");
    return {"127.0.0.1", seen.port};
  }

 private:
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  membership_actor member_;
};

const cluster::member* find(const member_view& seen, const std::string& name) {
  for (const auto& entry : seen.members)
    if (entry.identity.node_name == name)
      return &entry;
  return nullptr;
}

std::function<bool(const member_view&)> sees(const std::string& name, cluster::member_state state) {
  return [=](const member_view& seen) {
    const auto* entry = find(seen, name);
    return entry != nullptr && entry->state == state;
  };
}

bool any_notice(const member_view& seen, const std::string& part) {
  for (const auto& notice : seen.notices)
    if (notice.find(part) != std::string::npos)
      return true;
  return false;
}

struct membership_over_tls : ::testing::Test {
  s2s::testing::temp_dir files{"s2s-membership-"};
  s2s::testing::test_certificates certs = s2s::testing::make_test_certificates(files.path());

  // The test leaves carry one extended key usage each: the listening member gets the server leaf, the
  // dialling one the client leaf.
  group_tls listening() const {
    return {certs.trusted.server.certificate, certs.trusted.server.private_key, certs.trusted.ca_certificate};
  }
  group_tls dialling() const {
    return {certs.trusted.client.certificate, certs.trusted.client.private_key, certs.trusted.ca_certificate};
  }
  // Both ends: a member that listens and dials.
  group_tls both() const {
    return {certs.trusted.member.certificate, certs.trusted.member.private_key, certs.trusted.ca_certificate};
  }
};

TEST_F(membership_over_tls, two_members_see_each_other_alive_and_one_sees_the_other_go) {
  group_node b1(listening(), "b1");
  auto b1_address = b1.address();
  {
    group_node b2(dialling(), "b2", {b1_address});
    auto from_b2 = b2.wait_for(sees("b1", cluster::member_state::alive), "b2 to see b1 alive");
    EXPECT_EQ(from_b2.joins.at(0).phase, "joined");
    auto from_b1 = b1.wait_for(sees("b2", cluster::member_state::alive), "b1 to see b2 alive");
    EXPECT_EQ(find(from_b1, "b2")->identity.proxy_address, "127.0.0.1:6233");
  }
  auto after = b1.wait_for(sees("b2", cluster::member_state::dead), "b1 to see b2 dead after b2 stopped");
  EXPECT_FALSE(find(after, "b2")->connected);
}

// Each lists the other in joinAddrs, as the instances of a side do. Started at the same moment, both may dial at
// once, and CAF keeps neither connection; they settle within a few probe intervals, the second to dial finding the
// pair linked already. From then on neither loses the other (no connection between them is dropped while both run).
TEST_F(membership_over_tls, two_members_that_join_each_other_stay_alive_to_each_other) {
  auto port_of_1 = static_cast<std::uint16_t>(s2s::testing::free_loopback_port());
  auto port_of_2 = static_cast<std::uint16_t>(s2s::testing::free_loopback_port());
  group_node b1(both(), "b1", {{"127.0.0.1", port_of_2}}, port_of_1);
  group_node b2(both(), "b2", {{"127.0.0.1", port_of_1}}, port_of_2);
  auto settled = [](const std::string& peer) {
    return [peer](const member_view& seen) {
      const auto* entry = find(seen, peer);
      return entry != nullptr && entry->state == cluster::member_state::alive && entry->connected &&
             !seen.joins.empty() && seen.joins.front().phase == "joined";
    };
  };
  // A collision at the start shows within a round trip of the joins; a second look after it sees the settled pair.
  for (int look = 0; look < 2; ++look) {
    b1.wait_for(settled("b2"), "b1 to see b2 alive and its join done");
    b2.wait_for(settled("b1"), "b2 to see b1 alive and its join done");
    std::this_thread::sleep_for(500ms);
  }
  b1.wait_for(settled("b2"), "b1 to see b2 alive and its join done");
  b2.wait_for(settled("b1"), "b2 to see b1 alive and its join done");
  // For three seconds more, thirty probe intervals, neither may see the other anything but alive and connected.
  auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    for (auto* node : {&b1, &b2}) {
      auto seen = node->view();
      for (const auto& member : seen.members) {
        EXPECT_EQ(member.state, cluster::member_state::alive)
            << seen.self.node_name << " sees " << member.identity.node_name << " not alive";
        EXPECT_TRUE(member.connected) << seen.self.node_name << " lost its connection to " << member.identity.node_name;
        if (member.state != cluster::member_state::alive || !member.connected)
          return;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  for (auto* node : {&b1, &b2})
    for (const auto& join : node->view().joins)
      EXPECT_EQ(join.phase, "joined") << join.address << ": " << join.last_error;
}

TEST_F(membership_over_tls, a_member_whose_certificate_comes_from_another_ca_is_refused) {
  group_node b1(listening(), "b1");
  group_tls foreign{certs.untrusted.client.certificate, certs.untrusted.client.private_key,
                    certs.trusted.ca_certificate};
  group_node intruder(foreign, "x1", {b1.address()});
  auto from_intruder = intruder.wait_for([](const member_view& seen) { return seen.joins.at(0).failures >= 2; },
                                         "the intruder's join to fail twice");
  EXPECT_TRUE(from_intruder.members.empty());
  EXPECT_FALSE(from_intruder.joins.at(0).last_error.empty());
  EXPECT_TRUE(b1.view().members.empty());
}

TEST_F(membership_over_tls, two_members_with_one_name_both_say_so) {
  group_node first(listening(), "b1");
  group_node second(dialling(), "b1", {first.address()});
  auto from_second =
      second.wait_for([](const member_view& seen) { return any_notice(seen, "refused this instance's hello"); },
                      "the second b1 to hear its hello refused");
  EXPECT_TRUE(from_second.members.empty());
  EXPECT_TRUE(any_notice(from_second, "which is this instance's own nodeName")) << from_second.notices.front();
  auto from_first =
      first.wait_for([](const member_view& seen) { return any_notice(seen, "which is this instance's own nodeName"); },
                     "the first b1 to refuse the second");
  EXPECT_TRUE(from_first.members.empty());
}

TEST_F(membership_over_tls, the_group_is_not_set_up_without_all_three_files) {
  caf::actor_system_config config;
  auto missing_ca = listening();
  missing_ca.ca_path.clear();
  auto problems = configure_group_tls(config, missing_ca);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("the group's CA bundle is not set"), std::string::npos) << problems[0];
  EXPECT_TRUE(config.openssl_certificate.empty());

  auto unreadable = listening();
  unreadable.key_path = (files.path() / "no-such-key.pem").string();
  problems = configure_group_tls(config, unreadable);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("no-such-key.pem' cannot be read"), std::string::npos) << problems[0];
  EXPECT_TRUE(config.openssl_key.empty());
}

}  // namespace
