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

package apiserver

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// EmbeddedEtcd is a single-member etcd running inside the jobserver process,
// used when no --etcd-servers are given. It has no TCP listener: it serves
// its clients and its (unused) peer port on unix sockets inside its data
// directory, which is mode 0700, so only jobserver's user reaches it. An
// etcd on loopback TCP would answer every process in the network namespace
// (a sibling container of the Pod, any local user) without credentials, and
// whoever writes Jobs into etcd gets Pods made by jobserver's controller,
// past authentication, authorization, admission and audit.
type EmbeddedEtcd struct {
	etcd      *embed.Etcd
	endpoint  string
	closing   *atomic.Bool
	failed    chan error
	closeOnce sync.Once
}

const (
	// clientSocket and peerSocket are the embedded etcd's sockets, in its
	// data directory.
	clientSocket = "etcd.sock"
	peerSocket   = "etcd-peer.sock"
	// maxSocketPath is the longest unix socket path Linux takes (108 bytes
	// with the terminating NUL).
	maxSocketPath = 107
)

// quietWhenClosing drops etcd's log entries once Close has begun: etcd
// reports each listener it closes as an error, which is noise on a clean
// shutdown.
type quietWhenClosing struct {
	zapcore.Core
	closing *atomic.Bool
}

func (c quietWhenClosing) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closing.Load() {
		return ce
	}
	return c.Core.Check(e, ce)
}

func (c quietWhenClosing) With(fields []zapcore.Field) zapcore.Core {
	return quietWhenClosing{c.Core.With(fields), c.closing}
}

// StartEmbeddedEtcd starts etcd with its data in dir (created if missing)
// and waits until it serves. Data written in dir survives restarts.
func StartEmbeddedEtcd(dir string, readyTimeout time.Duration) (*EmbeddedEtcd, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd data directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating embedded etcd data directory: %w", err)
	}
	// The sockets are only as private as the directory: make it 0700 even
	// if it existed with wider permissions.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restricting the embedded etcd data directory to its owner: %w", err)
	}
	client, peer := filepath.Join(dir, clientSocket), filepath.Join(dir, peerSocket)
	if len(peer) > maxSocketPath {
		return nil, fmt.Errorf("embedded etcd data directory %s is too long for its unix sockets "+
			"(%d bytes; at most %d): choose a shorter --embedded-etcd-data-dir", dir, len(dir), maxSocketPath-len(peerSocket)-1)
	}
	// A socket left by a process that was killed would make the listen fail.
	for _, sock := range []string{client, peer} {
		if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("removing the stale socket %s: %w", sock, err)
		}
	}
	// etcd reads a client URL's Host+Path as the socket's path but a peer
	// URL's Host alone, so the peer listener's URL has the path as its Host
	// (only etcd's listener reads it); the advertised one, which etcd
	// compares with --initial-cluster, is the usual unix:///path. No one
	// dials it: a single member has no peers.
	clientURL := url.URL{Scheme: "unix", Path: client}
	peerListenURL := url.URL{Scheme: "unix", Host: peer}
	peerURL := url.URL{Scheme: "unix", Path: peer}
	cfg := embed.NewConfig()
	cfg.Name = "jobserver"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerListenURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	// No HTTP listener for metrics either: etcd serves /metrics on the
	// client socket.
	cfg.ListenMetricsUrls = nil
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	closing := &atomic.Bool{}
	logConfig := zap.NewProductionConfig()
	logConfig.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	logger, err := logConfig.Build(zap.WrapCore(func(core zapcore.Core) zapcore.Core {
		return quietWhenClosing{core, closing}
	}))
	if err != nil {
		return nil, fmt.Errorf("building the embedded etcd's logger: %w", err)
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s failed: %w", dir, err)
	case <-time.After(readyTimeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s was not ready within %v", dir, readyTimeout)
	}
	ee := &EmbeddedEtcd{etcd: e, endpoint: "unix://" + client, closing: closing, failed: make(chan error, 1)}
	klog.InfoS("Embedded etcd is ready", "dataDir", dir, "endpoint", ee.endpoint)
	go ee.watch(dir)
	return ee, nil
}

// watch reports etcd stopping on its own after start (a fatal error of its
// server, a listener that failed) on Failed. A stop that Close began is not
// a failure.
func (e *EmbeddedEtcd) watch(dir string) {
	var err error
	select {
	case err = <-e.etcd.Err():
		if err == nil {
			err = errors.New("a listener stopped")
		}
	case <-e.etcd.Server.StopNotify():
		err = errors.New("its server stopped")
	}
	if !e.closing.Load() {
		e.failed <- fmt.Errorf("the embedded etcd in %s failed after start: %w", dir, err)
	}
}

// Failed delivers the error that stopped etcd on its own after start; it
// never delivers after Close. jobserver then shuts down and exits non-zero:
// a process serving errors with nothing watching it helps no one, and its
// supervisor restarts it on the same data directory.
func (e *EmbeddedEtcd) Failed() <-chan error { return e.failed }

// Endpoint is the client URL of the embedded etcd: unix:// and the path of
// its socket.
func (e *EmbeddedEtcd) Endpoint() string {
	return e.endpoint
}

// Close stops etcd, flushing its data to disk. Closing again does nothing.
func (e *EmbeddedEtcd) Close() {
	e.closeOnce.Do(func() {
		e.closing.Store(true)
		e.etcd.Close()
		klog.InfoS("Embedded etcd stopped")
	})
}
