package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"

	"github.com/everynode/everynode/internal/apiserver"
	"github.com/everynode/everynode/internal/auth"
	"github.com/everynode/everynode/internal/etcd"
	"github.com/everynode/everynode/internal/loopback"
)

// serverOptions are the flags of `everynode server`.
type serverOptions struct {
	DataDir       string
	Listen        string
	EtcdEndpoints []string
	EtcdCAFile    string
	EtcdCertFile  string
	EtcdKeyFile   string
	// UnsafeFastEtcd turns off fsync in the embedded etcd (tests only).
	UnsafeFastEtcd bool
	// Controller tunables, named as upstream's flags.
	Controllers controllerOptions
}

// controllerOptions tune the controllers; zero values mean upstream's
// defaults.
type controllerOptions struct {
	NodeMonitorPeriod        time.Duration
	NodeMonitorGracePeriod   time.Duration
	NodeStartupGracePeriod   time.Duration
	DefaultTolerationSeconds int64
	// CAPEM is the cluster CA certificate the root-CA publisher puts into
	// every namespace; set by runServer, not a flag.
	CAPEM []byte
}

func newServerCommand(streams IO) *cobra.Command {
	o := serverOptions{DataDir: defaultDataDir(), Listen: "127.0.0.1:6443"}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: the Kubernetes API on etcd, and the controllers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			setServerGC(os.Getenv)
			return runServer(cmd.Context(), o, streams, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", o.DataDir, "directory for the embedded etcd, certificates and the admin kubeconfig ($EVERYNODE_DATA_DIR, else ~/.everynode)")
	f.StringVar(&o.Listen, "listen", o.Listen, "address the HTTPS API listens on (port 0 picks a free port)")
	f.StringSliceVar(&o.EtcdEndpoints, "etcd-endpoints", nil, "use this external etcd cluster instead of the embedded member")
	f.StringVar(&o.EtcdCAFile, "etcd-cafile", "", "CA bundle to verify the external etcd's certificates")
	f.StringVar(&o.EtcdCertFile, "etcd-certfile", "", "client certificate for the external etcd")
	f.StringVar(&o.EtcdKeyFile, "etcd-keyfile", "", "client key for the external etcd")
	f.BoolVar(&o.UnsafeFastEtcd, "unsafe-fast-etcd", false, "turn off fsync in the embedded etcd (for tests; loses data on a machine crash)")
	_ = f.MarkHidden("unsafe-fast-etcd")
	f.DurationVar(&o.Controllers.NodeMonitorPeriod, "node-monitor-period", 5*time.Second, "how often node health is checked")
	f.DurationVar(&o.Controllers.NodeMonitorGracePeriod, "node-monitor-grace-period", 50*time.Second, "how long a node may stay silent before it is marked Unknown")
	f.DurationVar(&o.Controllers.NodeStartupGracePeriod, "node-startup-grace-period", 60*time.Second, "how long a new node may take to post its first status")
	f.Int64Var(&o.Controllers.DefaultTolerationSeconds, "default-toleration-seconds", 300, "tolerationSeconds of the not-ready and unreachable NoExecute tolerations added to pods without them (upstream's --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds)")
	return cmd
}

// serverGCPercent is the control plane's garbage collection target unless
// GOGC is set. Measured with 1,000 simulated nodes (bench/): 50 rather than
// Go's 100 took the server's steady RSS from 292 to 257 MiB and its peak
// over a rollout and a rolling update from 474 to 388 MiB, at no measurable
// CPU cost; 25 saved another 50 MiB but made rollouts a third costlier.
const serverGCPercent = 50

// setServerGC applies serverGCPercent unless the environment sets GOGC.
func setServerGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}

// serverInfo is what a started server tells those who run alongside it.
type serverInfo struct {
	URL        string
	Kubeconfig string
	JoinToken  string
}

// runServer runs the control plane until ctx ends. ready, if set, receives
// the server's coordinates once it serves.
func runServer(ctx context.Context, o serverOptions, streams IO, ready func(serverInfo)) error {
	logger := klog.FromContext(ctx)
	pki := filepath.Join(o.DataDir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	ca, err := auth.LoadOrCreateCA(pki)
	if err != nil {
		return err
	}

	client, closeEtcd, err := openEtcd(ctx, o)
	if err != nil {
		return err
	}
	defer closeEtcd()

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)
	serving, err := ca.LoadOrCreateServing(pki, servingHosts(addr))
	if err != nil {
		return err
	}
	adminCert, adminKey, err := loadOrIssueClient(ca, pki, "admin", "admin", []string{auth.GroupMasters})
	if err != nil {
		return err
	}
	agentClient, err := agentClient(ca, pki)
	if err != nil {
		return err
	}
	url := "https://" + clientAddress(addr)
	kubeconfig := filepath.Join(o.DataDir, "admin.kubeconfig")

	// In-process controllers reach the API over in-memory connections with
	// a token that exists only in this process.
	loop := loopback.NewListener()
	loopToken := rand.Text()
	authn := auth.NewAuthenticator(map[string]auth.User{
		loopToken: {Name: "system:everynode-controllers", Groups: []string{auth.GroupMasters}},
	})
	tokens := auth.NewTokens(o.DataDir)
	secret, err := tokens.First()
	if err != nil {
		return err
	}
	joinToken := auth.JoinToken{CAHash: auth.CAHash(ca.CertPEM), Secret: secret}.String()
	if err := os.WriteFile(filepath.Join(o.DataDir, "join-token"), []byte(joinToken+"\n"), 0o600); err != nil {
		return fmt.Errorf("write join token: %w", err)
	}
	srv, err := apiserver.New(apiserver.Config{
		CA:            ca,
		Tokens:        tokens,
		AgentClient:   agentClient,
		Etcd:          client,
		Authenticator: authn,
		Version:       serverVersion(),

		DefaultTolerationSeconds: o.Controllers.DefaultTolerationSeconds,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if err := auth.WriteKubeconfig(kubeconfig, auth.Kubeconfig{
		Server: url, CAPEM: ca.CertPEM, CertPEM: adminCert, KeyPEM: adminKey, User: "admin",
	}); err != nil {
		return err
	}

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{serving},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    ca.Pool(),
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"h2", "http/1.1"},
		},
		ErrorLog: nil,
	}
	fmt.Fprintf(streams.ErrOut, "everynode server listening on %s (kubeconfig %s)\n", url, kubeconfig)
	logger.Info("Serving", "url", url, "kubeconfig", kubeconfig)
	if ready != nil {
		ready(serverInfo{URL: url, Kubeconfig: kubeconfig, JoinToken: joinToken})
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := hs.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	if len(o.EtcdEndpoints) > 0 {
		// Keep five minutes of history, as kube-apiserver does.
		g.Go(func() error { srv.RunCompactor(gctx, 5*time.Minute); return nil })
	}
	loopServer := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second}
	g.Go(func() error {
		err := loopServer.Serve(loop)
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	})
	controllersDone := make(chan struct{})
	g.Go(func() error {
		defer close(controllersDone)
		copts := o.Controllers
		copts.CAPEM = ca.CertPEM
		err := runControllers(gctx, loop.Config(loopToken), controllerSpecs(copts))
		if gctx.Err() != nil {
			return nil
		}
		return err
	})
	g.Go(func() error {
		var err error
		select {
		case <-gctx.Done():
		case <-srv.Done():
			cancel()
			err = errors.New("storage watch stopped")
		}
		shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		// Controllers release their lease through the loopback; let them.
		select {
		case <-controllersDone:
		case <-shutdownCtx.Done():
		}
		_ = hs.Shutdown(shutdownCtx)
		_ = loopServer.Shutdown(shutdownCtx)
		loop.Close()
		return err
	})
	err = g.Wait()
	logger.Info("Server stopped")
	return err
}

// openEtcd connects to the external cluster, or starts the embedded member.
func openEtcd(ctx context.Context, o serverOptions) (*clientv3.Client, func(), error) {
	if len(o.EtcdEndpoints) > 0 {
		cfg := clientv3.Config{Endpoints: o.EtcdEndpoints, DialTimeout: 10 * time.Second, Logger: zap.NewNop()}
		if o.EtcdCAFile != "" || o.EtcdCertFile != "" {
			tc, err := etcdTLS(o)
			if err != nil {
				return nil, nil, err
			}
			cfg.TLS = tc
		}
		c, err := clientv3.New(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to etcd %s: %w", strings.Join(o.EtcdEndpoints, ","), err)
		}
		return c, func() { _ = c.Close() }, nil
	}
	m, err := etcd.Start(ctx, etcd.Config{Dir: filepath.Join(o.DataDir, "etcd"), Fast: o.UnsafeFastEtcd})
	if err != nil {
		return nil, nil, err
	}
	return m.Client(), m.Close, nil
}

func servingHosts(addr *net.TCPAddr) []string {
	hosts := []string{"localhost", "127.0.0.1"}
	if !addr.IP.IsUnspecified() && !addr.IP.IsLoopback() {
		hosts = append(hosts, addr.IP.String())
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	if addr.IP.IsUnspecified() {
		if ifaces, err := net.InterfaceAddrs(); err == nil {
			for _, a := range ifaces {
				if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
					hosts = append(hosts, ipn.IP.String())
				}
			}
		}
	}
	return hosts
}

// clientAddress is the address clients on this machine use.
func clientAddress(addr *net.TCPAddr) string {
	if addr.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(addr.Port))
	}
	return addr.String()
}

// loadOrIssueClient returns the client key pair stored as pki/<file>.crt,
// issuing it the first time.
func loadOrIssueClient(ca *auth.CA, pki, file, cn string, groups []string) ([]byte, []byte, error) {
	certPath, keyPath := filepath.Join(pki, file+".crt"), filepath.Join(pki, file+".key")
	cert, err1 := os.ReadFile(certPath)
	key, err2 := os.ReadFile(keyPath)
	if err1 == nil && err2 == nil {
		if _, err := tls.X509KeyPair(cert, key); err == nil {
			return cert, key, nil
		}
	}
	cert, key, err := ca.IssueClient(cn, groups)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(certPath, cert, 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// agentClient is how the server reaches agents' logs endpoints: with its own
// client certificate, not verifying the agents' self-signed serving
// certificates (kube-apiserver's default towards kubelets).
func agentClient(ca *auth.CA, pki string) (*http.Client, error) {
	certPEM, keyPEM, err := loadOrIssueClient(ca, pki, "apiserver-agent-client", "system:everynode-apiserver", []string{auth.GroupMasters})
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{pair}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // agents' certificates are self-signed
		MaxIdleConnsPerHost: 4,
	}}, nil
}
