// Command yamux-peer is the far end of the yamux conformance tests: a small program on top of
// hashicorp/yamux that listens (server role) or dials (client role) on loopback and then plays
// one scenario. It prints "LISTENING host:port" once listening, "PASS ..." or "FAIL ..." at the
// end, and exits 0 only when its side of the scenario went as expected.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

type options struct {
	role         string
	listen       string
	dial         string
	mode         string
	streams      int
	size         int
	backlog      int
	expectResets int
	keepalive    time.Duration
	closeTimeout time.Duration
	duration     time.Duration
	timeout      time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.role, "role", "server", "yamux role: server (listens) or client (dials)")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on in the server role")
	flag.StringVar(&o.dial, "dial", "", "address to dial in the client role")
	flag.StringVar(&o.mode, "mode", "echo", "scenario: echo, open-echo, ping, goaway, reset, no-accept, open-overflow, keepalive")
	flag.IntVar(&o.streams, "streams", 1, "streams to open (open-echo, open-overflow)")
	flag.IntVar(&o.size, "bytes", 1024, "bytes to send per stream (open-echo)")
	flag.IntVar(&o.backlog, "backlog", 256, "yamux accept backlog")
	flag.IntVar(&o.expectResets, "expect-resets", 0, "streams the other side must reset (open-overflow)")
	flag.DurationVar(&o.keepalive, "keepalive", 0, "keepalive interval; 0 turns keepalive off")
	flag.DurationVar(&o.closeTimeout, "close-timeout", 5*time.Minute, "yamux stream close timeout")
	flag.DurationVar(&o.duration, "duration", time.Second, "how long the keepalive scenario runs")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "give up and fail after this long")
	flag.Parse()

	time.AfterFunc(o.timeout, func() { finish(fmt.Errorf("scenario %s did not finish within %s", o.mode, o.timeout)) })
	session, err := connect(o)
	if err != nil {
		finish(err)
	}
	finish(run(o, session))
}

func finish(err error) {
	if err != nil {
		fmt.Printf("FAIL %v\n", err)
		os.Exit(1)
	}
	fmt.Println("PASS")
	os.Exit(0)
}

func connect(o options) (*yamux.Session, error) {
	cfg := yamux.DefaultConfig()
	cfg.AcceptBacklog = o.backlog
	cfg.EnableKeepAlive = o.keepalive > 0
	if o.keepalive > 0 {
		cfg.KeepAliveInterval = o.keepalive
		cfg.ConnectionWriteTimeout = 10 * o.keepalive
	}
	cfg.StreamCloseTimeout = o.closeTimeout
	switch o.role {
	case "server":
		listener, err := net.Listen("tcp", o.listen)
		if err != nil {
			return nil, err
		}
		fmt.Printf("LISTENING %s\n", listener.Addr())
		conn, err := listener.Accept()
		listener.Close()
		if err != nil {
			return nil, err
		}
		return yamux.Server(conn, cfg)
	case "client":
		conn, err := net.Dial("tcp", o.dial)
		if err != nil {
			return nil, err
		}
		return yamux.Client(conn, cfg)
	}
	return nil, fmt.Errorf("unknown role %q", o.role)
}

func run(o options, s *yamux.Session) error {
	switch o.mode {
	case "echo":
		return echoAll(s)
	case "open-echo":
		return openEcho(s, o.streams, o.size)
	case "ping":
		return pingThenEcho(s)
	case "goaway":
		return goAway(s)
	case "reset":
		return resets(s)
	case "no-accept":
		<-s.CloseChan()
		return nil
	case "open-overflow":
		return openOverflow(s, o.streams, o.expectResets)
	case "keepalive":
		return keepAlive(s, o.duration)
	}
	return fmt.Errorf("unknown mode %q", o.mode)
}

// echoAll echoes every stream the other side opens until the session closes; each stream is
// half-closed once the other side's half-close arrived and everything was sent back.
func echoAll(s *yamux.Session) error {
	var wg sync.WaitGroup
	errs := make(chan error, 1024)
	for {
		stream, err := s.AcceptStream()
		if err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := io.Copy(stream, stream); err != nil {
				errs <- fmt.Errorf("echo on stream %d: %w", stream.StreamID(), err)
			}
			stream.Close()
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func pattern(id uint32, size int) []byte {
	out := make([]byte, size)
	for i := range out {
		out[i] = byte(uint32(i)*7 + id*13 + uint32(i>>10))
	}
	return out
}

// openEcho opens streams concurrently, sends a pattern on each, half-closes, and checks that
// exactly the same bytes come back before the other side's half-close.
func openEcho(s *yamux.Session, streams, size int) error {
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream, err := s.OpenStream()
			if err != nil {
				errs <- err
				return
			}
			want := pattern(stream.StreamID(), size)
			go func() {
				stream.Write(want)
				stream.Close()
			}()
			got, err := io.ReadAll(stream)
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", stream.StreamID(), err)
			} else if !bytes.Equal(got, want) {
				errs <- fmt.Errorf("stream %d: %d bytes came back, %d sent, or they differ", stream.StreamID(), len(got), len(want))
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return s.Close()
}

func pingThenEcho(s *yamux.Session) error {
	for i := 0; i < 5; i++ {
		rtt, err := s.Ping()
		if err != nil {
			return fmt.Errorf("ping %d: %w", i, err)
		}
		fmt.Printf("ping %d rtt %s\n", i, rtt)
	}
	return echoAll(s)
}

func readLine(stream *yamux.Stream, want string) error {
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(stream, buf); err != nil {
		return fmt.Errorf("waiting for %q: %w", want, err)
	}
	if string(buf) != want {
		return fmt.Errorf("got %q, want %q", buf, want)
	}
	return nil
}

// goAway: on the first stream, "go" asks us to send go-away, then "ok" goes back on the same
// stream; the other side then sends its own go-away followed by "bye", after which opening a
// stream must fail with ErrRemoteGoAway.
func goAway(s *yamux.Session) error {
	stream, err := s.AcceptStream()
	if err != nil {
		return err
	}
	if err := readLine(stream, "go\n"); err != nil {
		return err
	}
	if err := s.GoAway(); err != nil {
		return err
	}
	if _, err := stream.Write([]byte("ok\n")); err != nil {
		return err
	}
	if err := readLine(stream, "bye\n"); err != nil {
		return err
	}
	if _, err := s.OpenStream(); !errors.Is(err, yamux.ErrRemoteGoAway) {
		return fmt.Errorf("opening after the other side's go-away gave %v, want %v", err, yamux.ErrRemoteGoAway)
	}
	stream.Close()
	<-s.CloseChan()
	return nil
}

// resets: the first stream must be reset by the other side; the second one we half-close and
// leave to the close timeout, which makes hashicorp/yamux reset it.
func resets(s *yamux.Session) error {
	first, err := s.AcceptStream()
	if err != nil {
		return err
	}
	if _, err := io.ReadAll(first); !errors.Is(err, yamux.ErrConnectionReset) {
		return fmt.Errorf("reading the first stream ended with %v, want %v", err, yamux.ErrConnectionReset)
	}
	second, err := s.AcceptStream()
	if err != nil {
		return err
	}
	second.Close()
	<-s.CloseChan()
	return nil
}

// openOverflow opens streams one after the other without waiting; the other side accepts none,
// so the ones beyond its backlog must come back reset.
func openOverflow(s *yamux.Session, streams, expectResets int) error {
	opened := make([]*yamux.Stream, 0, streams)
	for i := 0; i < streams; i++ {
		stream, err := s.OpenStream()
		if err != nil {
			return err
		}
		opened = append(opened, stream)
	}
	var mu sync.Mutex
	resets := 0
	var wg sync.WaitGroup
	for _, stream := range opened {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err := stream.Read(make([]byte, 1))
			if errors.Is(err, yamux.ErrConnectionReset) {
				mu.Lock()
				resets++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if resets != expectResets {
		return fmt.Errorf("%d of %d streams were reset, want %d", resets, streams, expectResets)
	}
	return s.Close()
}

// keepAlive lets hashicorp/yamux ping the other side on its own for a while; a missed reply
// closes the session with ErrKeepAliveTimeout before the time is up.
func keepAlive(s *yamux.Session, duration time.Duration) error {
	select {
	case <-s.CloseChan():
		return fmt.Errorf("session closed during the keepalive scenario")
	case <-time.After(duration):
	}
	return s.Close()
}
