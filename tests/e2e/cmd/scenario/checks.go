// Checks on the proxies themselves: mutual TLS on the mux port, the ACL refusing calls outside
// the allowlist, and the metrics and health endpoints.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/api/adminservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// checkMutualTLS dials proxy B's mux port (which has free session slots) as strangers, without
// a client certificate and with one from another CA, which must be refused; then with proxy A's
// certificate, which must be accepted (so the refusals were the certificate check's doing).
func checkMutualTLS(address string, certs certFiles) error {
	caPEM, err := os.ReadFile(certs.ca)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	load := func(cert, key string) ([]tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(cert, key)
		return []tls.Certificate{c}, err
	}
	member, err := load(certs.proxyACert, certs.proxyAKey)
	if err != nil {
		return err
	}
	stranger, err := load(certs.strangerCert, certs.strangerKey)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		what   string
		certs  []tls.Certificate
		accept bool
	}{
		{"no client certificate", nil, false},
		{"a client certificate from another CA", stranger, false},
		{"proxy A's certificate", member, true},
	} {
		cfg := &tls.Config{RootCAs: roots, ServerName: proxyBServerName, Certificates: c.certs}
		refused, why := refusedBy(address, cfg)
		if refused != !c.accept {
			return fmt.Errorf("proxy B's mux port %s with %s: want accepted=%v, got %s", address, c.what, c.accept, why)
		}
		logf("proxy B's mux port with %s: %s", c.what, why)
	}
	return nil
}

// refusedBy dials with cfg and reports whether the server refused the client: the handshake
// fails, or the server closes the connection right after it (with TLS 1.3 the server checks the
// client certificate after the client has finished its side of the handshake). A connection
// still open after two seconds, or on which the server sends data, was accepted.
func refusedBy(address string, cfg *tls.Config) (bool, string) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", address, cfg)
	if err != nil {
		return true, "refused in the handshake: " + err.Error()
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := conn.Read(make([]byte, 64))
	var timeout net.Error
	switch {
	case n > 0:
		return false, fmt.Sprintf("accepted (the server sent %d bytes)", n)
	case errors.As(err, &timeout) && timeout.Timeout():
		return false, "accepted (open after 2s)"
	default:
		return true, fmt.Sprintf("refused after the handshake: %v", err)
	}
}

// checkRefused sends calls through each proxy's outbound port, as the local Temporal would, and
// expects the other proxy's ACL to let the allowlisted ones through and refuse the others with
// PERMISSION_DENIED naming what was refused.
func checkRefused(ctx context.Context, t *topology) error {
	for _, pair := range [][2]*side{{t.a, t.b}, {t.b, t.a}} {
		local, remote := pair[0], pair[1]
		conn, err := grpc.NewClient(local.outbound, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		err = func() error {
			defer conn.Close()
			admin := adminservice.NewAdminServiceClient(conn)
			workflows := workflowservice.NewWorkflowServiceClient(conn)
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			via := fmt.Sprintf("through %s's proxy (%s) to %s", local.name, local.outbound, remote.name)

			resp, err := admin.DescribeCluster(cctx, &adminservice.DescribeClusterRequest{})
			if err != nil {
				return fmt.Errorf("allowlisted DescribeCluster %s failed: %w", via, err)
			}
			if resp.GetClusterName() != remote.name {
				return fmt.Errorf("DescribeCluster %s answered for %q", via, resp.GetClusterName())
			}
			if _, err := workflows.DescribeNamespace(cctx, &workflowservice.DescribeNamespaceRequest{Namespace: remote.namespace}); err != nil {
				return fmt.Errorf("DescribeNamespace(%s) %s failed: %w", remote.namespace, via, err)
			}
			refusals := []struct {
				what, mention string
				call          func() error
			}{
				{"AdminService/DescribeHistoryHost (not in the allowlist)", "DescribeHistoryHost", func() error {
					_, err := admin.DescribeHistoryHost(cctx, &adminservice.DescribeHistoryHostRequest{ShardId: 1})
					return err
				}},
				{"AdminService/GetSearchAttributes (not in the allowlist)", "GetSearchAttributes", func() error {
					_, err := admin.GetSearchAttributes(cctx, &adminservice.GetSearchAttributesRequest{Namespace: remote.namespace})
					return err
				}},
				{"WorkflowService/DescribeNamespace of a namespace outside allowedNamespaces", "not-allowed", func() error {
					_, err := workflows.DescribeNamespace(cctx, &workflowservice.DescribeNamespaceRequest{Namespace: "not-allowed"})
					return err
				}},
				{"WorkflowService/RegisterNamespace (refused under any policy)", "RegisterNamespace", func() error {
					_, err := workflows.RegisterNamespace(cctx, &workflowservice.RegisterNamespaceRequest{Namespace: "sneaky"})
					return err
				}},
			}
			for _, r := range refusals {
				err := r.call()
				st, _ := status.FromError(err)
				if st.Code() != codes.PermissionDenied {
					return fmt.Errorf("%s %s: want PERMISSION_DENIED, got %v", r.what, via, err)
				}
				if !strings.Contains(st.Message(), r.mention) {
					return fmt.Errorf("%s %s: PERMISSION_DENIED does not name %q: %q", r.what, via, r.mention, st.Message())
				}
				logf("refused as expected %s: %s: %s", via, r.what, st.Message())
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

func httpGet(url string) (int, string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(body), err
}

// checkEndpoints reads each proxy's /metrics and both sides' /health. The replication streams
// must show in both directions of each proxy's metrics; after a proxy restart Temporal opens
// them again with a backoff, so that part is awaited (bounded).
func checkEndpoints(ctx context.Context, t *topology) error {
	for _, name := range []string{"proxy-a", "proxy-b"} {
		s := t.specs[name]
		err := eventually(ctx, t.o.stepTimeout, name+"'s /metrics to count replication streams both ways", func(context.Context) error {
			body, err := scrape(s.metrics)
			if err != nil {
				return err
			}
			// The other cluster's streams come in (inbound), the local cluster's go out (outbound).
			for _, direction := range []string{"inbound", "outbound"} {
				if n := counter(body, "s2s_proxy_grpc_calls_started_total",
					`direction="`+direction+`"`, `grpc_method="StreamWorkflowReplicationMessages"`); n < 1 {
					return fmt.Errorf("/metrics counts %v %s StreamWorkflowReplicationMessages calls", n, direction)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, h := range []struct{ side, address string }{{"local", s.localHealth}, {"remote", s.remoteHealth}} {
			code, body, err := httpGet("http://" + h.address + "/health")
			body = strings.TrimSpace(body)
			if err == nil && code == http.StatusServiceUnavailable && s.remoteType != "tcp" && h.side == "remote" &&
				strings.Contains(body, notReportedYet) {
				// The binary says outright that it does not wire mux readiness yet: note it, and
				// fail on any other answer than healthy once it does.
				logf("GAP: %s /health of its %s (%s) side answers %d %q", name, h.side, s.remoteType, code, body)
				continue
			}
			if err != nil || code != http.StatusOK {
				return fmt.Errorf("%s /health of its %s side on %s: status %d %q, %v", name, h.side, h.address, code, body, err)
			}
		}
	}
	logf("both proxies serve /metrics (replication streams counted both ways), and /health answers on both sides of each")
	return nil
}

// scrape reads a proxy's /metrics, failing unless it answers 200 with Prometheus text.
func scrape(address string) (string, error) {
	code, body, err := httpGet("http://" + address + "/metrics")
	if err != nil || code != http.StatusOK || !strings.Contains(body, "# TYPE") {
		return "", fmt.Errorf("/metrics on %s: status %d, %d bytes, %v", address, code, len(body), err)
	}
	return body, nil
}

// waitStreamsAcked waits until each named proxy has carried, since it started, an acknowledgement on the replication
// streams of both directions: a SyncReplicationState from the receiving cluster, which the proxy reads on its server
// side of the stream (inbound for the other cluster's receiver, outbound for its own cluster's).
//
// Why a scenario waits for it after a proxy restart, before it starts workflows: Temporal's stream sender begins a
// receiver that has never acknowledged at the current end of its replication queue. As two clusters learn of each
// other, their first streams may end within milliseconds (see settled), so a receiver may not have acknowledged yet
// when the proxy restarts; the tasks written while its stream is down would then never be sent, and the receiver
// counts them done all the same. Once one acknowledgement has gone through, the sender resumes from it after any
// outage, which is what the fault scenarios test.
func waitStreamsAcked(ctx context.Context, t *topology, names ...string) error {
	for _, name := range names {
		s := t.specs[name]
		err := eventually(ctx, t.o.stepTimeout, name+" to carry a replication acknowledgement both ways", func(context.Context) error {
			body, err := scrape(s.metrics)
			if err != nil {
				return err
			}
			for _, direction := range []string{"inbound", "outbound"} {
				if n := counter(body, "s2s_proxy_grpc_messages_received_total", label("direction", direction),
					label("grpc_method", "StreamWorkflowReplicationMessages"), label("side", "server")); n < 1 {
					return fmt.Errorf("no acknowledgement on the %s replication stream yet", direction)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	logf("replication streams acknowledged both ways through %s", strings.Join(names, ", "))
	return nil
}

// What the proxy's /health says for a side whose readiness the binary does not wire.
const notReportedYet = "does not report readiness in this build"

// label is one Prometheus label as the text format writes it, for counter.
func label(name, value string) string { return name + `="` + value + `"` }

// counter sums the samples of a Prometheus counter or gauge that carry every one of labels (each whole, as
// label writes it: shard="1" does not match source_shard="1").
func counter(body, name string, labels ...string) float64 {
	total := 0.0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		matches := true
		for _, l := range labels {
			matches = matches && (strings.Contains(line, "{"+l) || strings.Contains(line, ","+l))
		}
		if !matches {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
			total += v
		}
	}
	return total
}

// dumpProxyState keeps what each proxy says of itself when a scenario fails, before the processes
// stop: its /metrics and /debug/connections, as <proxy>.metrics.txt and <proxy>.connections.json
// in the work directory.
func (t *topology) dumpProxyState() {
	names := []string{"proxy-a", "proxy-b"}
	if t.o.mode == "replicas" || t.o.mode == "replicas-routing" {
		names = replicaNames
	}
	for _, name := range names {
		s := t.specs[name]
		if s == nil {
			continue
		}
		for _, got := range []struct{ address, path, file string }{
			{s.metrics, "/metrics", name + ".metrics.txt"},
			{s.debug, "/debug/connections", name + ".connections.json"},
		} {
			if got.address == "" {
				continue
			}
			code, body, err := httpGet("http://" + got.address + got.path)
			if err != nil || code != http.StatusOK {
				logf("%s: %s answered %d: %v", name, got.path, code, err)
				continue
			}
			file := filepath.Join(t.o.work, got.file)
			if err := os.WriteFile(file, []byte(body), 0o644); err == nil {
				logf("%s: kept %s in %s", name, got.path, file)
			}
		}
	}
}
