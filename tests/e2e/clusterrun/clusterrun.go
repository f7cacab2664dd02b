// Package clusterrun is what the cluster programs share whatever Temporal version they embed:
// the flags, the port layout, the readiness wait, the "ready" line and the clean stop on a signal.
//
// Ports are derived from --base-port:
//
//	base+0 frontend gRPC   base+1 frontend membership
//	base+2 history gRPC    base+3 history membership
//	base+4 matching gRPC   base+5 matching membership
//	base+6 worker gRPC     base+7 worker membership
package clusterrun

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
)

// Host is the address every service binds to.
const Host = "127.0.0.1"

// PortsPerCluster is how many consecutive ports from --base-port a cluster uses.
const PortsPerCluster = 8

// Services are Temporal's services in the order of their ports.
var Services = []string{"frontend", "history", "matching", "worker"}

// Options are the cluster program's flags.
type Options struct {
	Name              string
	BasePort          int
	InitialFailover   int64
	FailoverIncrement int64
	Shards            int
	GlobalNamespaces  bool
	DBFile            string
	LogLevel          string
	ReadyTimeout      time.Duration
	StopTimeout       time.Duration
	ConfigFile        string
}

// ParseFlags reads the flags and exits with a usage message when they make no cluster.
func ParseFlags() Options {
	var o Options
	flag.StringVar(&o.Name, "name", "", "cluster name (required)")
	flag.IntVar(&o.BasePort, "base-port", 0, fmt.Sprintf("first of %d consecutive ports on %s (required)", PortsPerCluster, Host))
	flag.Int64Var(&o.InitialFailover, "initial-failover-version", 1, "this cluster's initial failover version (distinct per cluster)")
	flag.Int64Var(&o.FailoverIncrement, "failover-version-increment", 10, "failover version increment (the same on every cluster)")
	flag.IntVar(&o.Shards, "shards", 1, "number of history shards")
	flag.BoolVar(&o.GlobalNamespaces, "global-namespaces", true, "enable global namespaces")
	flag.StringVar(&o.DBFile, "db", "", "SQLite database file (created with its schema if missing); empty = in memory")
	flag.StringVar(&o.LogLevel, "log-level", "warn", "server log level: debug, info, warn, error")
	flag.DurationVar(&o.ReadyTimeout, "ready-timeout", 2*time.Minute, "how long to wait for the frontend to answer")
	flag.DurationVar(&o.StopTimeout, "stop-timeout", 30*time.Second, "how long to wait for a clean stop")
	flag.StringVar(&o.ConfigFile, "config-file", "", "run from this Temporal server config file instead (the flags above except --name, --log-level and the timeouts are ignored)")
	flag.Parse()
	if o.ConfigFile != "" && o.Name != "" {
		return o
	}
	if o.Name == "" || o.BasePort <= 0 || o.BasePort+PortsPerCluster > 65536 {
		fmt.Fprintln(os.Stderr, "cluster: --name and a valid --base-port are required")
		flag.Usage()
		os.Exit(2)
	}
	if o.FailoverIncrement <= 0 || o.InitialFailover <= 0 || o.InitialFailover >= o.FailoverIncrement {
		fmt.Fprintln(os.Stderr, "cluster: need 0 < --initial-failover-version < --failover-version-increment")
		os.Exit(2)
	}
	if o.Shards < 1 {
		fmt.Fprintln(os.Stderr, "cluster: --shards must be at least 1")
		os.Exit(2)
	}
	return o
}

// FrontendAddress is where the frontend's gRPC server listens.
func (o Options) FrontendAddress() string { return fmt.Sprintf("%s:%d", Host, o.BasePort) }

// Ports returns the gRPC and membership ports of the service at index in Services.
func (o Options) Ports(index int) (grpcPort, membershipPort int) {
	return o.BasePort + 2*index, o.BasePort + 2*index + 1
}

// Database says where the cluster's SQLite database lives.
type Database struct {
	Name       string            // the SQL config's database name: a file path, or a shared in-memory name
	Attributes map[string]string // its connect attributes
	Create     bool              // the file does not exist yet: its schema must be set up
}

// Database returns the SQLite database of --db, or a private in-memory one.
func (o Options) Database() (Database, error) {
	if o.DBFile == "" {
		return Database{Name: fmt.Sprintf("%s-%d", o.Name, os.Getpid()),
			Attributes: map[string]string{"mode": "memory", "cache": "shared"}}, nil
	}
	path, err := filepath.Abs(o.DBFile)
	if err != nil {
		return Database{}, err
	}
	_, statErr := os.Stat(path)
	return Database{Name: path, Attributes: map[string]string{"mode": "rwc"}, Create: os.IsNotExist(statErr)}, nil
}

// Server is a Temporal server of any version.
type Server interface {
	Start() error
	Stop() error
}

// Fail prints a message naming the cluster and exits 1.
func (o Options) Fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cluster "+o.Name+": "+format+"\n", args...)
	os.Exit(1)
}

// Run starts the server, waits until the frontend at frontend reports SERVING, prints the ready
// line, and stops the server on SIGTERM or SIGINT.
func Run(o Options, frontend string, server Server) {
	prefix := "cluster " + o.Name + ": "
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	if err := server.Start(); err != nil {
		o.Fail("starting the server: %v", err)
	}
	readyCtx, cancel := context.WithTimeout(context.Background(), o.ReadyTimeout)
	readyErr := make(chan error, 1)
	go func() { readyErr <- waitFrontend(readyCtx, frontend) }()
	select {
	case err := <-readyErr:
		cancel()
		if err != nil {
			_ = server.Stop()
			o.Fail("not ready after %s: %v", o.ReadyTimeout, err)
		}
	case sig := <-signals:
		cancel()
		fmt.Fprintf(os.Stderr, prefix+"%s before ready, stopping\n", sig)
		stop(server, o.StopTimeout, prefix)
		return
	}
	fmt.Printf("cluster %s ready frontend=%s\n", o.Name, frontend)

	sig := <-signals
	fmt.Fprintf(os.Stderr, prefix+"%s, stopping\n", sig)
	stop(server, o.StopTimeout, prefix)
}

// waitFrontend polls the frontend's gRPC health service until it reports SERVING.
func waitFrontend(ctx context.Context, address string) error {
	conn, err := grpc.Dial(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
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

func stop(server Server, timeout time.Duration, prefix string) {
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
