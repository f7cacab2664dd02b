// What a SIGHUP applies and what it leaves for a restart, decided from the running config and the file.
#include <gtest/gtest.h>

#include "app/reload.hpp"

namespace s2s::app {
namespace {

config::config two_connections() {
  config::config config;
  for (const char* name : {"a-to-b", "a-to-c"}) {
    config::cluster_connection connection;
    connection.name = name;
    connection.local.tcp_client = config::endpoint{{"127.0.0.1", 7233}, {}};
    connection.local.tcp_server = config::endpoint{{"127.0.0.1", 6233}, {}};
    connection.remote.tcp_client = config::endpoint{{"10.0.0.2", 7233}, {}};
    connection.remote.tcp_server = config::endpoint{{"0.0.0.0", 6333}, {}};
    connection.namespace_mappings = {{"orders", "orders.acct42"}};
    config.cluster_connections.push_back(connection);
  }
  return config;
}

TEST(ReloadPlan, AnUnchangedFileChangesNothing) {
  auto running = two_connections();
  auto plan = plan_reload(running, running);
  EXPECT_TRUE(plan.retranslated.empty());
  EXPECT_TRUE(plan.need_restart.empty());
  EXPECT_FALSE(plan.logging_changed);
}

TEST(ReloadPlan, TranslationAndAclChangesApplyToTheirConnectionOnly) {
  auto running = two_connections();
  auto next = running;
  auto& changed = next.cluster_connections[1];
  changed.namespace_mappings = {{"orders", "orders.acct99"}};
  changed.search_attribute_mappings = {{"orders", "id-1", {{"CustomerId", "CustomerIdAcct99"}}}};
  changed.acl = config::acl_policy{std::vector<std::string>{"DescribeCluster"}, std::nullopt};
  changed.replication_endpoint = "proxy-a.internal:6233";

  auto plan = plan_reload(running, next);
  EXPECT_TRUE(plan.need_restart.empty());
  ASSERT_EQ(plan.retranslated.size(), 1u);
  const auto& change = plan.retranslated[0];
  EXPECT_EQ(change.index, 1u);
  EXPECT_EQ(change.connection, changed);
  EXPECT_EQ(change.changed, (std::vector<std::string>{"namespaceTranslation", "searchAttributeTranslation", "aclPolicy",
                                                      "replicationEndpoint"}));
}

TEST(ReloadPlan, AddressTypeTlsAndConnectionSetChangesNeedARestartAndAreNotApplied) {
  auto running = two_connections();
  auto next = running;
  next.cluster_connections[0].remote.tcp_client->addr.port = 7999;
  next.cluster_connections[0].local.tcp_server->tls.certificate_path = "proxy.pem";
  next.cluster_connections[0].namespace_mappings = {{"orders", "orders.acct99"}};
  next.cluster_connections[1].name = "a-to-d";
  next.metrics_listen_address = config::address{"0.0.0.0", 9090};
  next.translation.descriptor_set_path = "temporal.binpb";

  auto plan = plan_reload(running, next);
  std::vector<std::string> expected{"clusterConnections 'a-to-b': local changed; that needs a restart",
                                    "clusterConnections 'a-to-b': remote changed; that needs a restart",
                                    "clusterConnections 'a-to-c' is no longer in the file; removing it needs a restart",
                                    "clusterConnections 'a-to-d' is new; adding it needs a restart",
                                    "translation.descriptorSetPath changed; that needs a restart",
                                    "metrics changed; that needs a restart"};
  EXPECT_EQ(plan.need_restart, expected);
  // The translation change of a connection that also changed its addresses still applies, to
  // the connection as it runs: its addresses stay.
  ASSERT_EQ(plan.retranslated.size(), 1u);
  EXPECT_EQ(plan.retranslated[0].connection.remote.tcp_client->addr.port, 7233);
  EXPECT_EQ(plan.retranslated[0].connection.namespace_mappings[0].remote, "orders.acct99");
}

TEST(ReloadPlan, LoggingChangesAreNoticed) {
  auto running = two_connections();
  auto next = running;
  next.log_configs["translation"].level = "debug";
  auto plan = plan_reload(running, next);
  EXPECT_TRUE(plan.logging_changed);
  EXPECT_TRUE(plan.need_restart.empty());
  EXPECT_TRUE(plan.retranslated.empty());
}

}  // namespace
}  // namespace s2s::app
