package sim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/join"
)

// Config configures a simulated fleet.
type Config struct {
	// ServerURL and Token are what an agent joins with.
	ServerURL string
	Token     string
	// Nodes is the fleet size; nodes are named NamePrefix + index
	// (default "sim-").
	Nodes      int
	NamePrefix string
	// Labels and Taints every node registers with.
	Labels map[string]string
	Taints []corev1.Taint
	// PodStartDelay is how long a pod takes from showing up on its node
	// to Running and Ready.
	PodStartDelay time.Duration
	// Churn, when set, is the interval between two churn events: a random
	// node is removed (Node and Lease deleted) and registers again.
	Churn time.Duration
	Clock clock.WithTicker
	// Out receives progress lines (nil: discarded).
	Out io.Writer

	// JoinConcurrency is how many nodes join and register at once
	// (default 50).
	JoinConcurrency int
	// LeaseDuration (40s) is renewed every quarter; StatusReportFrequency
	// (5m) is how often the node status is posted when nothing changed.
	LeaseDuration, StatusReportFrequency time.Duration
	// ProgressInterval is how often a progress line is printed (10s).
	ProgressInterval time.Duration
}

// Sim is a simulated fleet.
type Sim struct {
	cfg   Config
	stats stats

	mu   sync.Mutex
	live []*node // registered nodes, for churn
}

// stats are counters over the whole fleet, for the progress lines.
type stats struct {
	registered, leaseRenewals, podsReady, podsDeleted, churned, errors atomic.Int64
	lastError                                                          atomic.Pointer[string]
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Sim, error) {
	switch {
	case cfg.ServerURL == "":
		return nil, errors.New("sim: ServerURL is required")
	case cfg.Token == "":
		return nil, errors.New("sim: Token is required")
	case cfg.Nodes <= 0:
		return nil, fmt.Errorf("sim: Nodes must be positive, not %d", cfg.Nodes)
	}
	cfg.ServerURL = strings.TrimRight(cfg.ServerURL, "/")
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "sim-"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.JoinConcurrency <= 0 {
		cfg.JoinConcurrency = 50
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.LeaseDuration, 40*time.Second)
	def(&cfg.StatusReportFrequency, 5*time.Minute)
	def(&cfg.ProgressInterval, 10*time.Second)
	if cfg.LeaseDuration < 4*time.Second {
		return nil, fmt.Errorf("sim: LeaseDuration %s is below 4s", cfg.LeaseDuration)
	}
	return &Sim{cfg: cfg}, nil
}

// Run joins and registers the nodes, JoinConcurrency at a time, and runs
// them until ctx ends. It fails when the server refuses a join (bad token,
// names already taken): the fleet would not be the one asked for.
func (s *Sim) Run(ctx context.Context) error {
	j, err := join.NewClient(ctx, s.cfg.ServerURL, s.cfg.Token)
	if err != nil {
		return err
	}
	defer j.CloseIdleConnections()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(j.CA())
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	start := s.cfg.Clock.Now()
	fmt.Fprintf(s.cfg.Out, "sim: joining %d nodes (%s%s..) to %s, %d at a time\n",
		s.cfg.Nodes, s.cfg.NamePrefix, strings.Repeat("0", len(nodeName("", 0, s.cfg.Nodes))), s.cfg.ServerURL, s.cfg.JoinConcurrency)
	var wg sync.WaitGroup
	wg.Go(func() { s.report(ctx, start) })
	if s.cfg.Churn > 0 {
		wg.Go(func() { s.churnLoop(ctx) })
	}
	sem := make(chan struct{}, s.cfg.JoinConcurrency)
	for i := range s.cfg.Nodes {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			n, err := s.start(ctx, j, pool, i)
			<-sem
			if err != nil {
				if ctx.Err() == nil {
					cancel(err)
				}
				return
			}
			s.mu.Lock()
			s.live = append(s.live, n)
			s.mu.Unlock()
			if s.stats.registered.Add(1) == int64(s.cfg.Nodes) {
				fmt.Fprintf(s.cfg.Out, "sim: all %d nodes registered in %s\n", s.cfg.Nodes, s.cfg.Clock.Since(start).Round(time.Millisecond))
			}
			n.loop(ctx)
		})
	}
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// start joins, connects and registers the i-th node.
func (s *Sim) start(ctx context.Context, j *join.Client, pool *x509.CertPool, i int) (*node, error) {
	name := nodeName(s.cfg.NamePrefix, i, s.cfg.Nodes)
	var cred join.Credential
	if err := s.retry(ctx, func() (err error) {
		cred, err = j.Join(ctx, name)
		return err
	}); err != nil {
		return nil, err
	}
	cert, err := certificate(cred)
	if err != nil {
		return nil, err
	}
	hc := s.httpClient(pool, cert)
	core, coord, err := s.clients(hc)
	if err != nil {
		return nil, err
	}
	n := newNode(s, name, nodeIP(i), core, coord)
	n.closeIdle = hc.CloseIdleConnections
	if err := s.retry(ctx, func() error { return n.register(ctx) }); err != nil {
		return nil, err
	}
	if err := n.renewLease(ctx); err != nil {
		s.fail(ctx, err) // the renewal loop tries again
	}
	return n, nil
}

// httpClient is a node's own HTTP client: its own certificate on its own
// HTTP/2 connection, shared by its requests and its watch; only the CA pool
// is shared between nodes.
func (s *Sim) httpClient(pool *x509.CertPool, cert tls.Certificate) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 1,
	}}
}

// clients are a node's typed API clients on hc. Protobuf keeps encoding
// cheap on both sides.
func (s *Sim) clients(hc *http.Client) (corev1client.CoreV1Interface, coordinationv1client.CoordinationV1Interface, error) {
	cfg := &rest.Config{
		Host:      s.cfg.ServerURL,
		UserAgent: "everynode-sim",
		QPS:       -1, // the fleet's own pace is the load under test
		ContentConfig: rest.ContentConfig{
			ContentType:        "application/vnd.kubernetes.protobuf",
			AcceptContentTypes: "application/vnd.kubernetes.protobuf,application/json",
		},
	}
	core, err := corev1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: core client: %w", err)
	}
	coord, err := coordinationv1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: coordination client: %w", err)
	}
	return core, coord, nil
}

// retry runs f until it succeeds, the server refuses for good, or ctx ends,
// backing off from 0.5s to 7s as the agent's registration does.
func (s *Sim) retry(ctx context.Context, f func() error) error {
	delay := 500 * time.Millisecond
	for {
		err := f()
		if err == nil || errors.Is(err, join.ErrRefused) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.fail(ctx, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.cfg.Clock.After(delay + rand.N(delay/2)):
		}
		delay = min(2*delay, 7*time.Second)
	}
}

// fail counts an error a node recovers from by itself; the last one is
// shown in the progress lines rather than logged once per node.
func (s *Sim) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	s.stats.errors.Add(1)
	msg := err.Error()
	s.stats.lastError.Store(&msg)
}

// report prints a progress line every ProgressInterval while anything
// changes.
func (s *Sim) report(ctx context.Context, start time.Time) {
	t := s.cfg.Clock.NewTicker(s.cfg.ProgressInterval)
	defer t.Stop()
	var last string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		st := &s.stats
		line := fmt.Sprintf("%d/%d nodes registered, %d lease renewals, %d pods made ready, %d pods deleted, %d churned, %d errors",
			st.registered.Load(), s.cfg.Nodes, st.leaseRenewals.Load(), st.podsReady.Load(), st.podsDeleted.Load(), st.churned.Load(), st.errors.Load())
		if line == last {
			continue
		}
		last = line
		if e := st.lastError.Swap(nil); e != nil {
			line += " (last: " + *e + ")"
		}
		fmt.Fprintf(s.cfg.Out, "sim: %s: %s\n", s.cfg.Clock.Since(start).Round(time.Second), line)
	}
}

// churnLoop removes and re-adds a random registered node every Churn.
func (s *Sim) churnLoop(ctx context.Context) {
	t := s.cfg.Clock.NewTicker(s.cfg.Churn)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		s.mu.Lock()
		var n *node
		if len(s.live) > 0 {
			n = s.live[rand.N(len(s.live))]
		}
		s.mu.Unlock()
		if n == nil {
			continue
		}
		select {
		case n.churn <- struct{}{}:
		default: // still busy with the last one
		}
	}
}

// certificate turns a joined credential into a TLS client certificate.
func certificate(cred join.Credential) (tls.Certificate, error) {
	block, _ := pem.Decode(cred.CertPEM)
	if block == nil {
		return tls.Certificate{}, errors.New("the join response holds no certificate")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse the joined certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{block.Bytes}, PrivateKey: cred.Key, Leaf: leaf}, nil
}
