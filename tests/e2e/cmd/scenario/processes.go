// Child processes of the scenario: started with their output in a log file, awaited on a line
// that says they are ready, and stopped by their pid, whatever happens to the scenario.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a child this program started.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	ready   chan struct{}
	exited  chan struct{}
	waitErr error
}

// supervisor keeps every child it started, so that all of them can be stopped at the end.
type supervisor struct {
	mu    sync.Mutex
	procs []*process
}

// start runs bin with args. Output lines are appended to logPath; the first line for which
// isReady returns true closes p.ready.
func (s *supervisor) start(name, logPath string, isReady func(line string) bool, bin string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// Should this program die without cleaning up, the kernel kills its children. A process
	// group of its own keeps a terminal's Ctrl-C for this program, which stops children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, ready: make(chan struct{}), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()

	var once sync.Once
	var logMu sync.Mutex
	var pumps sync.WaitGroup
	pump := func(r io.Reader) {
		defer pumps.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			fmt.Fprintln(logFile, line)
			logMu.Unlock()
			if isReady(line) {
				once.Do(func() { close(p.ready) })
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}
	pumps.Add(2)
	go pump(stdout)
	go pump(stderr)
	go func() {
		pumps.Wait()
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	logf("started %s, pid %d, log %s", name, cmd.Process.Pid, logPath)
	return p, nil
}

func (p *process) waitReady(timeout time.Duration) error {
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return fmt.Errorf("%s exited before it was ready (%v); log %s:\n%s", p.name, p.waitErr, p.logPath, tail(p.logPath, 40))
	case <-time.After(timeout):
		return fmt.Errorf("%s not ready after %s; log %s:\n%s", p.name, timeout, p.logPath, tail(p.logPath, 40))
	}
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs. It reports an unclean stop.
func (p *process) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("%s (pid %d): %v; %s", p.name, p.cmd.Process.Pid, p.waitErr, p.logEnd())
		}
		return nil
	case <-time.After(grace):
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("%s (pid %d): killed after %s without stopping; %s", p.name, p.cmd.Process.Pid, grace, p.logEnd())
	}
}

// logEnd is the last lines of the child's log, for a failure that CI shows without the log itself.
func (p *process) logEnd() string {
	return fmt.Sprintf("the end of its log %s:\n%s", p.logPath, tail(p.logPath, 20))
}

// forget drops a child that has been stopped on purpose (before a restart).
func (s *supervisor) forget(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.procs {
		if q == p {
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			return
		}
	}
}

// stopAll stops every live child, newest first, and returns those that did not stop cleanly.
func (s *supervisor) stopAll(grace time.Duration) []string {
	s.mu.Lock()
	procs := append([]*process(nil), s.procs...)
	s.procs = nil
	s.mu.Unlock()
	var unclean []string
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].stop(grace); err != nil {
			unclean = append(unclean, err.Error())
		}
	}
	return unclean
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "    " + strings.Join(all, "\n    ")
}
