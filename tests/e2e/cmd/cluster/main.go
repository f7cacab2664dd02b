// Command cluster runs one Temporal cluster (frontend, history, matching and worker services)
// in this process, on SQLite, configured from flags (see package clusterrun for the flags and
// the port layout). It prints one line "cluster <name> ready frontend=<host:port>" on stdout
// once the frontend answers, and stops cleanly on SIGTERM or SIGINT.
package main

import (
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"s2s-proxy/tests/e2e/clusterrun"
)

func serverConfig(o clusterrun.Options, sql *config.SQL) *config.Config {
	services := map[string]config.Service{}
	for i, name := range clusterrun.Services {
		grpcPort, membershipPort := o.Ports(i)
		services[name] = config.Service{RPC: config.RPC{GRPCPort: grpcPort, MembershipPort: membershipPort, BindOnIP: clusterrun.Host}}
	}
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: clusterrun.Host},
		},
		Persistence: config.Persistence{
			DefaultStore:     "sqlite-default",
			VisibilityStore:  "sqlite-default",
			NumHistoryShards: int32(o.Shards),
			DataStores:       map[string]config.DataStore{"sqlite-default": {SQL: sql}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    o.GlobalNamespaces,
			FailoverVersionIncrement: o.FailoverIncrement,
			MasterClusterName:        o.Name,
			CurrentClusterName:       o.Name,
			ClusterInformation: map[string]cluster.ClusterInformation{
				o.Name: {Enabled: true, InitialFailoverVersion: o.InitialFailover, RPCAddress: o.FrontendAddress()},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: o.FrontendAddress()},
	}
}

// dynamicConfig shortens the refresh and poll intervals so that a remote cluster, a namespace and
// replication tasks show up in seconds rather than minutes.
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		dynamicconfig.ClusterMetadataRefreshInterval.Key():     2 * time.Second,
		dynamicconfig.NamespaceCacheRefreshInterval.Key():      time.Second,
		dynamicconfig.TransferProcessorMaxPollInterval.Key():   2 * time.Second,
		dynamicconfig.TimerProcessorMaxPollInterval.Key():      2 * time.Second,
		dynamicconfig.VisibilityProcessorMaxPollInterval.Key(): 2 * time.Second,
		dynamicconfig.OutboundProcessorMaxPollInterval.Key():   2 * time.Second,
	}
}

func main() {
	o := clusterrun.ParseFlags()
	var cfg *config.Config
	frontend := o.FrontendAddress()
	if o.ConfigFile != "" {
		// The same file a Temporal server image would read (docker-compose.yml uses such files).
		loaded, err := config.Load(config.WithConfigFile(o.ConfigFile))
		if err != nil {
			o.Fail("loading %s: %v", o.ConfigFile, err)
		}
		cfg = loaded
		frontend = cfg.PublicClient.HostPort
	} else {
		db, err := o.Database()
		if err != nil {
			o.Fail("%v", err)
		}
		sql := &config.SQL{PluginName: sqliteplugin.PluginName, DatabaseName: db.Name, ConnectAttributes: db.Attributes}
		if db.Create {
			if err := sqliteschema.SetupSchema(sql); err != nil {
				o.Fail("setting up the SQLite schema in %s: %v", db.Name, err)
			}
		}
		cfg = serverConfig(o, sql)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Level: o.LogLevel, Format: "console"}))
	server, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(cfg),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		o.Fail("creating the server: %v", err)
	}
	clusterrun.Run(o, frontend, server)
}
