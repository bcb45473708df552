// Package etcd runs the embedded single-member etcd that stores everynode's
// objects when no external cluster is given. It owns the member's lifecycle
// only; the typed storage on top of it lives in package store. Imported by
// the cli (to wire a server) and by tests that need a real etcd.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// Config says where the member keeps its data and how it behaves.
type Config struct {
	// Dir is the member's data directory; it is created when missing.
	Dir string
	// Fast trades durability for speed (no fsync, short raft ticks). Only for
	// tests: a machine crash may lose acknowledged writes.
	Fast bool
	// Logger receives etcd's own logs; nil discards them.
	Logger *zap.Logger
}

// Member is a running embedded etcd member.
type Member struct {
	etcd      *embed.Etcd
	client    *clientv3.Client
	closeOnce sync.Once
}

// Start starts a member and waits until it serves requests.
func Start(ctx context.Context, cfg Config) (*Member, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd dir: %w", err)
	}
	ec := embed.NewConfig()
	ec.Name = "everynode"
	ec.Dir = cfg.Dir
	// Loopback only, kernel-chosen ports: the server talks to the member
	// in-process; the listeners exist because etcd requires them.
	local, _ := url.Parse("http://127.0.0.1:0")
	ec.ListenClientUrls = []url.URL{*local}
	ec.AdvertiseClientUrls = []url.URL{*local}
	ec.ListenPeerUrls = []url.URL{*local}
	ec.AdvertisePeerUrls = []url.URL{*local}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.EnableGRPCGateway = false
	ec.Metrics = "basic"
	// Keep five minutes of history for watches that resume from an older
	// resourceVersion, as kube-apiserver's compactor does.
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = "5m"
	ec.QuotaBackendBytes = 8 << 30
	ec.MaxRequestBytes = 4 << 20
	if cfg.Fast {
		ec.UnsafeNoFsync = true
		ec.TickMs = 10
		ec.ElectionMs = 50
	}
	logger := cfg.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger)
	if _, err := os.Stat(filepath.Join(cfg.Dir, "member")); err == nil {
		ec.ClusterState = embed.ClusterStateFlagExisting
	}

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed while starting: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("embedded etcd did not become ready within 60s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Member{etcd: e, client: v3client.New(e.Server)}, nil
}

// ClientURL is the member's client URL on loopback, for processes that use
// it as an external etcd.
func (m *Member) ClientURL() string {
	return "http://" + m.etcd.Clients[0].Addr().String()
}

// Client returns an in-process client of the member (no network round trip).
func (m *Member) Client() *clientv3.Client { return m.client }

// Err reports a fatal error of the running member.
func (m *Member) Err() <-chan error { return m.etcd.Err() }

// Close stops the member. It is safe to call more than once.
func (m *Member) Close() {
	m.closeOnce.Do(func() {
		_ = m.client.Close()
		m.etcd.Close()
	})
}
