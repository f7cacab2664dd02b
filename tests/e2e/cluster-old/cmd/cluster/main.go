// Command cluster runs one cluster of an older Temporal release (frontend, history, matching and
// worker services) in this process, on SQLite, with the flags of the current version's cluster
// program (see package clusterrun), for the cross-version scenario. The release is the module's:
// v1.22.7 with go.mod (the last release on gogo protobuf, which stores strings without checking
// that they are UTF-8), v1.23.1 with -modfile=v1.23.mod (the first on Google's protobuf runtime,
// and the release Temporal supports beside v1.22: it guarantees consecutive releases only).
package main

import (
	"path/filepath"
	"strings"
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

// dynamicConfig shortens the refresh and poll intervals as the current version's program does,
// and turns on stream replication (StreamWorkflowReplicationMessages), off by default in v1.22
// and v1.23, on by default in the current version.
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		dynamicconfig.ClusterMetadataRefreshInterval:     2 * time.Second,
		dynamicconfig.NamespaceCacheRefreshInterval:      time.Second,
		dynamicconfig.TransferProcessorMaxPollInterval:   2 * time.Second,
		dynamicconfig.TimerProcessorMaxPollInterval:      2 * time.Second,
		dynamicconfig.VisibilityProcessorMaxPollInterval: 2 * time.Second,
		dynamicconfig.EnableReplicationStream:            true,
	}
}

func main() {
	o := clusterrun.ParseFlags()
	var cfg *config.Config
	frontend := o.FrontendAddress()
	if o.ConfigFile != "" {
		// These releases read a directory: base.yaml, then <env>.yaml; the file's name is the env.
		env := strings.TrimSuffix(filepath.Base(o.ConfigFile), filepath.Ext(o.ConfigFile))
		loaded, err := config.LoadConfig(env, filepath.Dir(o.ConfigFile), "")
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
