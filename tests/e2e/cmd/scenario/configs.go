// Proxy configuration files for the scenarios, written in the format of docs/configuration.md.
package main

import (
	"fmt"
	"sort"
	"strings"
)

// replicationAllowlist is the admin methods two clusters need to replicate: the allowlist of the
// configuration reference, which the ACL scenario runs with.
var replicationAllowlist = []string{
	"AddOrUpdateRemoteCluster",
	"RemoveRemoteCluster",
	"DescribeCluster",
	"ListClusters",
	"DescribeMutableState",
	"GetNamespace",
	"GetNamespaceReplicationMessages",
	"GetWorkflowExecutionRawHistoryV2",
	"StreamWorkflowReplicationMessages",
	"ReapplyEvents",
	"SyncWorkflowState",
}

type tlsFiles struct {
	cert, key, ca, serverName string
}

type fieldPair struct{ local, remote string }

// proxySpec is what differs between the proxies of the scenarios.
type proxySpec struct {
	name     string
	frontend string // the local Temporal frontend (tcpClient of the local side)
	outbound string // where the local Temporal calls the other cluster (tcpServer of the local side)

	remoteType string // tcp, mux-client or mux-server
	// tcp: the other proxy's inbound address, and this proxy's inbound address.
	peerInbound, inbound string
	// mux-client: the address to dial; mux-server: the address to listen on.
	muxAddress string
	muxCount   int
	muxTLS     *tlsFiles

	namespaces        []fieldPair // local, remote namespace names
	searchAttributes  []fieldPair // local, remote field names, in namespace saNamespace
	saNamespace       string      // local name of that namespace
	saNamespaceID     string
	acl               bool
	allowedNamespaces []string

	metrics, localHealth, remoteHealth string
	debug                              string // the debug endpoints (profiling.pprofAddress)
	descriptorSet                      string
	shardCount                         *shardCount
	repairUTF8                         *bool // nil: the default (on)
	group                              *groupSpec
}

// groupSpec is a memberlist block: this instance in a group of instances of its side (replicas).
type groupSpec struct {
	node, bind string
	join       []string
	proxies    map[string]string // node name -> that instance's outbound address
	tls        tlsFiles
}

type shardCount struct {
	mode          string
	local, remote int
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoted(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (s proxySpec) yaml() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("clusterConnections:")
	w("  - name: %q", s.name)
	w("    local:")
	w("      connectionType: tcp")
	w("      tcpClient:")
	w("        address: %q", s.frontend)
	w("      tcpServer:")
	w("        address: %q", s.outbound)
	w("    remote:")
	w("      connectionType: %s", s.remoteType)
	switch s.remoteType {
	case "tcp":
		w("      tcpClient:")
		w("        address: %q", s.peerInbound)
		w("      tcpServer:")
		w("        address: %q", s.inbound)
	default:
		w("      muxCount: %d", s.muxCount)
		w("      muxAddressInfo:")
		w("        address: %q", s.muxAddress)
		if t := s.muxTLS; t != nil {
			w("        tls:")
			w("          certificatePath: %q", t.cert)
			w("          keyPath: %q", t.key)
			w("          remoteCAPath: %q", t.ca)
			if t.serverName != "" {
				w("          caServerName: %q", t.serverName)
			}
		}
	}
	if s.acl {
		w("    aclPolicy:")
		w("      allowedMethods:")
		w("        adminService:")
		for _, m := range replicationAllowlist {
			w("          - %s", m)
		}
		if len(s.allowedNamespaces) > 0 {
			w("      allowedNamespaces: %s", quoted(s.allowedNamespaces))
		}
	}
	if len(s.namespaces) > 0 {
		w("    namespaceTranslation:")
		w("      mappings:")
		for _, m := range s.namespaces {
			w("        - local: %q", m.local)
			w("          remote: %q", m.remote)
		}
	}
	if len(s.searchAttributes) > 0 {
		w("    searchAttributeTranslation:")
		w("      namespaceMappings:")
		w("        - name: %q", s.saNamespace)
		w("          namespaceId: %q", s.saNamespaceID)
		w("          mappings:")
		for _, m := range s.searchAttributes {
			w("            - localFieldName: %q", m.local)
			w("              remoteFieldName: %q", m.remote)
		}
	}
	if c := s.shardCount; c != nil {
		w("    shardCount:")
		w("      mode: %s", c.mode)
		w("      localShardCount: %d", c.local)
		w("      remoteShardCount: %d", c.remote)
	}
	if s.repairUTF8 != nil {
		w("    repairUTF8: %t", *s.repairUTF8)
	}
	if g := s.group; g != nil {
		host, port, _ := strings.Cut(g.bind, ":")
		w("    memberlist:")
		w("      enabled: true")
		w("      nodeName: %q", g.node)
		w("      bindAddr: %q", host)
		w("      bindPort: %s", port)
		w("      joinAddrs: %s", quoted(g.join))
		w("      proxyAddresses:")
		for _, node := range sortedKeys(g.proxies) {
			w("        %s: %q", node, g.proxies[node])
		}
		w("      probeIntervalMs: 500")
		w("      probeTimeoutMs: 500")
		w("      tls:")
		w("        certificatePath: %q", g.tls.cert)
		w("        keyPath: %q", g.tls.key)
		w("        remoteCAPath: %q", g.tls.ca)
	}
	if s.localHealth != "" {
		w("    localClusterHealthCheck:")
		w("      protocol: http")
		w("      listenAddress: %q", s.localHealth)
	}
	if s.remoteHealth != "" {
		w("    remoteClusterHealthCheck:")
		w("      protocol: http")
		w("      listenAddress: %q", s.remoteHealth)
	}
	if s.metrics != "" {
		w("metrics:")
		w("  prometheus:")
		w("    listenAddress: %q", s.metrics)
	}
	if s.debug != "" {
		w("profiling:")
		w("  pprofAddress: %q", s.debug)
	}
	if s.descriptorSet != "" {
		w("translation:")
		w("  descriptorSetPath: %q", s.descriptorSet)
	}
	return b.String()
}
