// Package testserver starts a real everynode API server for tests: an
// embedded etcd member (without fsync) and the apiserver behind HTTPS with
// client-certificate authentication, on loopback. Imported by tests only.
package testserver

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/everynode/everynode/internal/apiserver"
	"github.com/everynode/everynode/internal/auth"
	"github.com/everynode/everynode/internal/etcd"
)

// Server is a running API server.
type Server struct {
	// Config reaches the server as the cluster administrator.
	Config *rest.Config
	// Client is a clientset on Config.
	Client kubernetes.Interface
	// CA signs further credentials.
	CA *auth.CA
	// URL is the server's base URL.
	URL string
	// JoinToken lets an agent join (full K10 form).
	JoinToken string
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	member, err := etcd.Start(ctx, etcd.Config{Dir: filepath.Join(dir, "etcd"), Fast: true})
	if err != nil {
		cancel()
		t.Fatalf("start etcd: %v", err)
	}
	ca, err := auth.LoadOrCreateCA(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(dir)
	secret, err := tokens.Create()
	if err != nil {
		t.Fatal(err)
	}
	agentCert, agentKey, err := ca.IssueClient("system:everynode-apiserver", []string{auth.GroupMasters})
	if err != nil {
		t.Fatal(err)
	}
	agentPair, err := tls.X509KeyPair(agentCert, agentKey)
	if err != nil {
		t.Fatal(err)
	}
	agentClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{agentPair}, InsecureSkipVerify: true, //nolint:gosec // agents' certificates are self-signed
	}}}
	srv, err := apiserver.New(apiserver.Config{
		AgentClient:   agentClient,
		CA:            ca,
		Tokens:        tokens,
		Etcd:          member.Client(),
		Authenticator: auth.NewAuthenticator(nil),
		Version:       version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.0+everynode"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start apiserver: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.LoadOrCreateServing(filepath.Join(dir, "pki"), []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		Handler: srv.Handler(),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{serving}, ClientAuth: tls.VerifyClientCertIfGiven,
			ClientCAs: ca.Pool(), NextProtos: []string{"h2", "http/1.1"},
		},
	}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = hs.Shutdown(sctx)
		cancel()
		<-srv.Done()
		member.Close()
	})
	cert, key, err := ca.IssueClient("admin", []string{auth.GroupMasters})
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + ln.Addr().String()
	cfg := &rest.Config{
		Host:            url,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: cert, KeyData: key},
		QPS:             -1,
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	token := auth.JoinToken{CAHash: auth.CAHash(ca.CertPEM), Secret: secret}.String()
	return &Server{Config: cfg, Client: client, CA: ca, URL: url, JoinToken: token}
}
