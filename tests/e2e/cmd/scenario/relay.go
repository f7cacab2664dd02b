// A TCP relay between proxy A and proxy B's mux port: every byte of the mux connection passes
// through it, so the scenario can cut the connection the way a network fault would. With several
// targets it is a balancer (replicas): each connection goes to the next target that accepts it.
package main

import (
	"io"
	"net"
	"sync"
	"time"
)

type relay struct {
	listener net.Listener
	targets  []string
	next     int
	ordered  bool // each connection to the first target that accepts it, instead of round robin

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	accepted int
	closed   bool
}

func newRelay(listen, target string) (*relay, error) {
	return newRelayTo(listen, []string{target}, true)
}

// newBalancer spreads the connections it accepts over targets, round robin; a target that refuses a
// connection is skipped for the next one.
func newBalancer(listen string, targets []string) (*relay, error) {
	return newRelayTo(listen, targets, false)
}

// newFailover sends every connection to the first of targets that accepts it.
func newFailover(listen string, targets []string) (*relay, error) {
	return newRelayTo(listen, targets, true)
}

func newRelayTo(listen string, targets []string, ordered bool) (*relay, error) {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	r := &relay{listener: l, targets: targets, ordered: ordered, conns: map[net.Conn]struct{}{}}
	go r.acceptLoop()
	return r, nil
}

// dial connects to the next target that accepts, starting after the one the last connection went to.
func (r *relay) dial() (net.Conn, error) {
	r.mu.Lock()
	start := r.next
	if r.ordered {
		start = 0
	} else {
		r.next = (r.next + 1) % len(r.targets)
	}
	r.mu.Unlock()
	var err error
	for i := range r.targets {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", r.targets[(start+i)%len(r.targets)], 5*time.Second); err == nil {
			return c, nil
		}
	}
	return nil, err
}

func (r *relay) address() string { return r.listener.Addr().String() }

func (r *relay) acceptLoop() {
	for {
		client, err := r.listener.Accept()
		if err != nil {
			return
		}
		go r.serve(client)
	}
}

func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *relay) serve(client net.Conn) {
	server, err := r.dial()
	if err != nil {
		client.Close()
		return
	}
	if !r.track(client) || !r.track(server) {
		client.Close()
		server.Close()
		return
	}
	r.mu.Lock()
	r.accepted++
	r.mu.Unlock()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		// One direction ended: end both, as a broken connection would.
		dst.Close()
		src.Close()
	}
	wg.Add(2)
	go pipe(server, client)
	go pipe(client, server)
	wg.Wait()
	r.mu.Lock()
	delete(r.conns, client)
	delete(r.conns, server)
	r.mu.Unlock()
}

// sever closes every connection passing through the relay, abruptly (RST, no TLS close).
// It returns how many proxied connections were cut.
func (r *relay) sever() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
	n := len(r.conns) / 2
	r.conns = map[net.Conn]struct{}{}
	return n
}

// live is the number of proxied connections open now; total the number ever relayed.
func (r *relay) counts() (live, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns) / 2, r.accepted
}

func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.listener.Close()
	r.sever()
}
