// Command cluster runs one Temporal cluster (frontend, history, matching and worker services)
// in this process, on SQLite, configured from flags. It prints one line
// "cluster <name> ready frontend=<host:port>" on stdout once the frontend answers, and stops
// cleanly on SIGTERM or SIGINT.
//
// Ports are derived from --base-port:
//
//	base+0 frontend gRPC   base+1 frontend membership
//	base+2 history gRPC    base+3 history membership
//	base+4 matching gRPC   base+5 matching membership
//	base+6 worker gRPC     base+7 worker membership
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const host = "127.0.0.1"

// PortsPerCluster is how many consecutive ports from --base-port a cluster uses.
const PortsPerCluster = 8

type options struct {
	name              string
	basePort          int
	initialFailover   int64
	failoverIncrement int64
	shards            int
	globalNamespaces  bool
	dbFile            string
	logLevel          string
	readyTimeout      time.Duration
	stopTimeout       time.Duration
	configFile        string
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.name, "name", "", "cluster name (required)")
	flag.IntVar(&o.basePort, "base-port", 0, fmt.Sprintf("first of %d consecutive ports on %s (required)", PortsPerCluster, host))
	flag.Int64Var(&o.initialFailover, "initial-failover-version", 1, "this cluster's initial failover version (distinct per cluster)")
	flag.Int64Var(&o.failoverIncrement, "failover-version-increment", 10, "failover version increment (the same on every cluster)")
	flag.IntVar(&o.shards, "shards", 1, "number of history shards")
	flag.BoolVar(&o.globalNamespaces, "global-namespaces", true, "enable global namespaces")
	flag.StringVar(&o.dbFile, "db", "", "SQLite database file (created with its schema if missing); empty = in memory")
	flag.StringVar(&o.logLevel, "log-level", "warn", "server log level: debug, info, warn, error")
	flag.DurationVar(&o.readyTimeout, "ready-timeout", 2*time.Minute, "how long to wait for the frontend to answer")
	flag.DurationVar(&o.stopTimeout, "stop-timeout", 30*time.Second, "how long to wait for a clean stop")
	flag.StringVar(&o.configFile, "config-file", "", "run from this Temporal server config file instead (the flags above except --name, --log-level and the timeouts are ignored)")
	flag.Parse()
	if o.configFile != "" && o.name != "" {
		return o
	}
	if o.name == "" || o.basePort <= 0 || o.basePort+PortsPerCluster > 65536 {
		fmt.Fprintln(os.Stderr, "cluster: --name and a valid --base-port are required")
		flag.Usage()
		os.Exit(2)
	}
	if o.failoverIncrement <= 0 || o.initialFailover <= 0 || o.initialFailover >= o.failoverIncrement {
		fmt.Fprintln(os.Stderr, "cluster: need 0 < --initial-failover-version < --failover-version-increment")
		os.Exit(2)
	}
	if o.shards < 1 {
		fmt.Fprintln(os.Stderr, "cluster: --shards must be at least 1")
		os.Exit(2)
	}
	return o
}

func (o options) frontendAddress() string { return fmt.Sprintf("%s:%d", host, o.basePort) }

func (o options) service(index int) config.Service {
	return config.Service{RPC: config.RPC{
		GRPCPort:       o.basePort + 2*index,
		MembershipPort: o.basePort + 2*index + 1,
		BindOnIP:       host,
	}}
}

func (o options) sqlConfig() (*config.SQL, error) {
	sql := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{},
	}
	if o.dbFile == "" {
		sql.DatabaseName = fmt.Sprintf("%s-%d", o.name, os.Getpid())
		sql.ConnectAttributes["mode"] = "memory"
		sql.ConnectAttributes["cache"] = "shared"
		return sql, nil
	}
	path, err := filepath.Abs(o.dbFile)
	if err != nil {
		return nil, err
	}
	sql.DatabaseName = path
	sql.ConnectAttributes["mode"] = "rwc"
	if _, err := os.Stat(path); os.IsNotExist(err) {
		if err := sqliteschema.SetupSchema(sql); err != nil {
			return nil, fmt.Errorf("setting up the SQLite schema in %s: %w", path, err)
		}
	}
	return sql, nil
}

func (o options) serverConfig(sql *config.SQL) *config.Config {
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: host},
		},
		Persistence: config.Persistence{
			DefaultStore:     "sqlite-default",
			VisibilityStore:  "sqlite-default",
			NumHistoryShards: int32(o.shards),
			DataStores:       map[string]config.DataStore{"sqlite-default": {SQL: sql}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    o.globalNamespaces,
			FailoverVersionIncrement: o.failoverIncrement,
			MasterClusterName:        o.name,
			CurrentClusterName:       o.name,
			ClusterInformation: map[string]cluster.ClusterInformation{
				o.name: {
					Enabled:                true,
					InitialFailoverVersion: o.initialFailover,
					RPCAddress:             o.frontendAddress(),
				},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": o.service(0),
			"history":  o.service(1),
			"matching": o.service(2),
			"worker":   o.service(3),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: o.frontendAddress()},
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

// waitFrontend polls the frontend's gRPC health service until it reports SERVING.
func waitFrontend(ctx context.Context, address string) error {
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	var last error
	for {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := health.Check(callCtx, &healthpb.HealthCheckRequest{Service: "temporal.api.workflowservice.v1.WorkflowService"})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("health status %s", resp.GetStatus())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("frontend %s did not report SERVING: %v", address, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func main() {
	o := parseFlags()
	prefix := "cluster " + o.name + ": "
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, prefix+format+"\n", args...)
		os.Exit(1)
	}

	var cfg *config.Config
	frontend := o.frontendAddress()
	if o.configFile != "" {
		// The same file a Temporal server image would read (docker-compose.yml uses such files).
		loaded, err := config.Load(config.WithConfigFile(o.configFile))
		if err != nil {
			fail("loading %s: %v", o.configFile, err)
		}
		cfg = loaded
		frontend = cfg.PublicClient.HostPort
	} else {
		sql, err := o.sqlConfig()
		if err != nil {
			fail("%v", err)
		}
		cfg = o.serverConfig(sql)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Level: o.logLevel, Format: "console"}))
	server, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(cfg),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		fail("creating the server: %v", err)
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	if err := server.Start(); err != nil {
		fail("starting the server: %v", err)
	}
	readyCtx, cancel := context.WithTimeout(context.Background(), o.readyTimeout)
	readyErr := make(chan error, 1)
	go func() { readyErr <- waitFrontend(readyCtx, frontend) }()
	select {
	case err := <-readyErr:
		cancel()
		if err != nil {
			_ = server.Stop()
			fail("not ready after %s: %v", o.readyTimeout, err)
		}
	case sig := <-signals:
		cancel()
		fmt.Fprintf(os.Stderr, prefix+"%s before ready, stopping\n", sig)
		stop(server, o.stopTimeout, prefix)
		return
	}
	fmt.Printf("cluster %s ready frontend=%s\n", o.name, frontend)

	sig := <-signals
	fmt.Fprintf(os.Stderr, prefix+"%s, stopping\n", sig)
	stop(server, o.stopTimeout, prefix)
}

func stop(server temporal.Server, timeout time.Duration, prefix string) {
	done := make(chan error, 1)
	go func() { done <- server.Stop() }()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(os.Stderr, prefix+"stop: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, prefix+"stopped")
	case <-time.After(timeout):
		fmt.Fprintf(os.Stderr, prefix+"did not stop within %s\n", timeout)
		os.Exit(1)
	}
}
