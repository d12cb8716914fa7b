/*
Copyright The jobserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package kit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Command says what binary Start runs, and how.
type Command struct {
	// Path is the binary; Args its arguments.
	Path string
	Args []string
	// Env is added to this process's environment.
	Env []string
	// LogFile receives the binary's standard output and error; it is
	// created, or truncated.
	LogFile string
	// KillWithParent has the kernel SIGKILL the binary when the thread that
	// started it exits (Linux only; with Go, in practice when this process
	// dies), so that a test binary killed on timeout leaves nothing behind.
	KillWithParent bool
}

// Process is a binary Start started.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// Start starts the binary of c in the background.
func Start(c Command) (*Process, error) {
	out, err := os.Create(c.LogFile)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Stdout, cmd.Stderr = out, out
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	if c.KillWithParent {
		cmd.SysProcAttr = killWithParent()
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", c.Path, err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Pid returns the process ID.
func (p *Process) Pid() int {
	return p.cmd.Process.Pid
}

// Exited tells whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Wait waits until the process has exited and returns how it ended (nil
// for exit status 0).
func (p *Process) Wait() error {
	<-p.exited
	return p.err
}

// Stop sends SIGTERM, and SIGKILL if the process has not exited grace
// later; it returns once the process is gone. Stopping a process that has
// exited does nothing.
func (p *Process) Stop(grace time.Duration) {
	p.signal(syscall.SIGTERM, grace)
}

// Kill sends SIGKILL and returns once the process is gone.
func (p *Process) Kill() {
	p.signal(syscall.SIGKILL, time.Minute)
}

func (p *Process) signal(sig syscall.Signal, grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Logs hands out log files in a directory, numbered so that a process
// started again does not overwrite its earlier log, and shows their ends.
type Logs struct {
	// Dir is the directory of the log files.
	Dir string

	mu    sync.Mutex
	files []string
}

// File returns the path of a new log file for the process name.
func (l *Logs) File(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := filepath.Join(l.Dir, fmt.Sprintf("%s-%d.log", name, len(l.files)))
	l.files = append(l.files, f)
	return f
}

// Dump passes the last lines of every log file to logf (t.Logf in a
// failed test), a file at a time.
func (l *Logs) Dump(logf func(format string, args ...any), lines int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		last := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(last) > lines {
			last = last[len(last)-lines:]
		}
		logf("--- last lines of %s:\n%s", filepath.Base(f), strings.Join(last, "\n"))
	}
}

// FreePort returns a loopback TCP port that was free a moment ago. Another
// process may take it before it is used: retry a start that fails to bind.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
