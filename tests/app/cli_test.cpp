// The s2s-proxy binary as an operator runs it: validate, start, serve, stop.
#include <signal.h>

#include <gtest/gtest.h>

#include "support/certs.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/proxy_config.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;

class Cli : public ::testing::Test {
 protected:
  temp_dir scratch;

  process run(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), S2S_PROXY_BINARY);
    return process({arguments, {}, scratch / ("output-" + std::to_string(runs_++)), S2S_SOURCE_DIR});
  }

  // A TCP-mode config whose outbound side forwards to `remote_port`.
  std::filesystem::path tcp_config(int outbound_port, int remote_port) {
    auto path = scratch / "proxy.yaml";
    write_file(path, tcp_proxy_yaml("cli", outbound_port, "127.0.0.1:" + std::to_string(remote_port)));
    return path;
  }

 private:
  int runs_ = 0;
};

TEST_F(Cli, VersionAndHelpExitZero) {
  auto version = run({"--version"});
  ASSERT_EQ(version.wait_exit(10s), 0);
  EXPECT_NE(version.output().find("s2s-proxy "), std::string::npos);
  auto help = run({"--help"});
  ASSERT_EQ(help.wait_exit(10s), 0);
  EXPECT_NE(help.output().find("validate --config FILE"), std::string::npos);
}

TEST_F(Cli, AnUnknownCommandIsAUsageError) {
  auto wrong = run({"serve"});
  EXPECT_EQ(wrong.wait_exit(10s), 2);
  EXPECT_NE(wrong.output().find("unknown command 'serve'"), std::string::npos);
}

TEST_F(Cli, ValidateSummarisesTheExampleConfig) {
  auto validate = run({"validate", "--config", "config/example-tcp.yaml"});
  ASSERT_EQ(validate.wait_exit(10s), 0) << validate.output();
  EXPECT_NE(validate.output().find("local-to-remote"), std::string::npos) << validate.output();
}

TEST_F(Cli, ValidateListsEveryProblemWithItsLineAndExitsNonZero) {
  auto path = scratch / "broken.yaml";
  write_file(path,
             "clusterConnections:\n"
             "  - name: broken\n"
             "    local:\n"
             "      connectionType: carrier-pigeon\n"
             "    remote:\n"
             "      connectionType: mux-client\n"
             "      muxCount: 0\n"
             "      muxAddressInfo: { address: \"nowhere\" }\n"
             "    colour: blue\n");
  auto validate = run({"validate", "--config", path.string()});
  EXPECT_EQ(validate.wait_exit(10s), 1);
  auto output = validate.output();
  EXPECT_NE(output.find("clusterConnections[0].local.connectionType (line 4"), std::string::npos) << output;
  EXPECT_NE(output.find("clusterConnections[0].remote.muxCount (line 7"), std::string::npos) << output;
  EXPECT_NE(output.find("clusterConnections[0].remote.muxAddressInfo.address (line 8"), std::string::npos) << output;
  EXPECT_NE(output.find("clusterConnections[0].colour (line 9"), std::string::npos) << output;
}

// A routing config that lacks a count is refused by both commands, naming the key.
TEST_F(Cli, ValidateAndStartRefuseRoutingWithoutBothShardCounts) {
  auto path = scratch / "routing.yaml";
  write_file(path, tcp_proxy_yaml("cli", 1, "127.0.0.1:2") + "    shardCount: {mode: routing, localShardCount: 4}\n");
  for (std::string command : {"validate", "start"}) {
    auto refused = run({command, "--config", path.string()});
    EXPECT_EQ(refused.wait_exit(10s), 1) << command << ": " << refused.output();
    EXPECT_NE(refused.output().find("shardCount.mode routing needs remoteShardCount"), std::string::npos)
        << command << ": " << refused.output();
  }
}

// Configs that start once refused by itself: validate now refuses them, and start refuses them the same way,
// before anything is served. TLS files among them: validate loads them as start's TLS contexts do.
TEST_F(Cli, ValidateAndStartRefuseTheSameConfigsWithTheSameMessage) {
  struct refused_config {
    std::string yaml;
    std::string problem;  // key path and line
  };
  // Files start would load into its TLS contexts: a certificate, key or CA bundle it cannot use is a problem of
  // the config.
  auto certs = make_test_certificates(scratch.path());
  auto garbled = scratch / "garbled.pem";
  write_file(garbled, "not PEM at all");
  const std::string tcp_remote =
      "    remote:\n"
      "      connectionType: tcp\n"
      "      tcpClient: { address: \"127.0.0.1:7234\" }\n"
      "      tcpServer: { address: \"127.0.0.1:6234\" }\n";
  // A connection whose remote side is a mux side of `type`; its TLS block's lines start at line 12.
  auto mux_tls = [](const std::string& name, const std::string& type, const std::string& tls_lines) {
    return "clusterConnections:\n"
           "  - name: " +
           name +
           "\n"
           "    local:\n"
           "      connectionType: tcp\n"
           "      tcpClient: { address: \"127.0.0.1:7233\" }\n"
           "      tcpServer: { address: \"127.0.0.1:6233\" }\n"
           "    remote:\n"
           "      connectionType: " +
           type +
           "\n"
           "      muxAddressInfo:\n"
           "        address: \"127.0.0.1:6334\"\n"
           "        tls:\n" +
           tls_lines;
  };
  auto file_line = [](const std::string& key, const std::filesystem::path& file) {
    return "          " + key + ": \"" + file.string() + "\"\n";
  };
  const refused_config configs[] = {
      {"clusterConnections:\n"
       "  - name: mux-local\n"
       "    local:\n"
       "      connectionType: mux-client\n"
       "      muxAddressInfo: { address: \"127.0.0.1:7233\" }\n" +
           tcp_remote,
       "clusterConnections[0].local.connectionType (line 4, column 7): the local side is mux-client"},
      {"clusterConnections:\n"
       "  - name: mux-both\n"
       "    local:\n"
       "      connectionType: mux-server\n"
       "      muxAddressInfo: { address: \"127.0.0.1:6233\" }\n"
       "    remote:\n"
       "      connectionType: mux-client\n"
       "      muxAddressInfo: { address: \"127.0.0.1:6334\" }\n",
       "clusterConnections[0].local.connectionType (line 4, column 7): the local side is mux-server"},
      {"clusterConnections:\n"
       "  - name: unnamed-namespace\n"
       "    local:\n"
       "      connectionType: tcp\n"
       "      tcpClient: { address: \"127.0.0.1:7233\" }\n"
       "      tcpServer: { address: \"127.0.0.1:6233\" }\n" +
           tcp_remote +
           "    searchAttributeTranslation:\n"
           "      namespaceMappings:\n"
           "        - { name: \"\", namespaceId: \"\" }\n",
       "clusterConnections[0].searchAttributeTranslation.namespaceMappings[0] (line 13, column 11): a search "
       "attribute namespace entry needs a non-empty name or namespaceId"},
      {"clusterConnections:\n"
       "  - name: garbled-certificate\n"
       "    local:\n"
       "      connectionType: tcp\n"
       "      tcpClient: { address: \"127.0.0.1:7233\" }\n"
       "      tcpServer:\n"
       "        address: \"127.0.0.1:6233\"\n"
       "        tls: { certificatePath: \"" +
           garbled.string() + "\", keyPath: \"" + certs.trusted.server.private_key.string() + "\" }\n" + tcp_remote,
       "clusterConnections[0].local.tcpServer.tls.certificatePath (line 8, column 16): cannot load the certificate"},
      {mux_tls("foreign-key", "mux-client",
               file_line("certificatePath", certs.trusted.client.certificate) +
                   file_line("keyPath", certs.untrusted.client.private_key) +
                   "          caServerName: s2s-test-server\n"),
       "clusterConnections[0].remote.muxAddressInfo.tls.keyPath (line 13, column 11): the private key"},
      {mux_tls("garbled-bundle", "mux-server",
               file_line("certificatePath", certs.trusted.server.certificate) +
                   file_line("keyPath", certs.trusted.server.private_key) + file_line("remoteCAPath", garbled)),
       "clusterConnections[0].remote.muxAddressInfo.tls.remoteCAPath (line 14, column 11): cannot load the CA bundle"},
  };
  for (const auto& config : configs) {
    auto path = scratch / "refused.yaml";
    write_file(path, config.yaml);
    auto validate = run({"validate", "--config", path.string()});
    auto start = run({"start", "--config", path.string()});
    EXPECT_EQ(validate.wait_exit(10s), 1) << validate.output();
    EXPECT_EQ(start.wait_exit(10s), 1) << start.output();
    EXPECT_NE(validate.output().find(config.problem), std::string::npos) << validate.output();
    EXPECT_EQ(start.output(), validate.output());
  }
}

TEST_F(Cli, StartServesCallsAndStopsCleanlyOnSigterm) {
  echo_server remote;
  int outbound = free_loopback_port();
  auto proxy = run({"start", "--config", tcp_config(outbound, remote.port()).string()});
  ASSERT_TRUE(proxy.wait_for_output("ready", 20s)) << proxy.output();

  auto stub = v1::EchoService::NewStub(make_channel("127.0.0.1:" + std::to_string(outbound)));
  v1::EchoRequest request;
  request.set_payload("through the binary");
  auto result = call_unary(*stub, request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.responses[0].payload(), "through the binary");

  proxy.send_signal(SIGTERM);
  EXPECT_EQ(proxy.wait_exit(30s), 0) << proxy.output();
  EXPECT_NE(proxy.output().find("stopped"), std::string::npos);
}

TEST_F(Cli, StartRefusesAPortThatIsTakenWithAClearMessage) {
  echo_server squatter;  // holds a port
  auto proxy = run({"start", "--config", tcp_config(squatter.port(), squatter.port()).string()});
  EXPECT_EQ(proxy.wait_exit(20s), 1) << proxy.output();
  EXPECT_NE(proxy.output().find("cannot listen on 127.0.0.1:" + std::to_string(squatter.port())), std::string::npos)
      << proxy.output();
}

}  // namespace
}  // namespace s2s::testing
