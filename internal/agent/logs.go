package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/everynode/everynode/internal/agent/runner"
)

// groupMasters is the group allowed to read logs (the API server's
// credential towards agents is an administrator's).
const groupMasters = "system:masters"

// listenLogs opens the logs endpoint: HTTPS with a self-signed serving
// certificate made at start, client certificates required and verified
// against the server's CA.
func (a *Agent) listenLogs() (*http.Server, error) {
	cert, err := selfSigned(a.cfg.NodeName, a.cfg.Address, a.cfg.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("logs endpoint certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if len(a.cfg.ServerCA) > 0 && !pool.AppendCertsFromPEM(a.cfg.ServerCA) {
		return nil, errors.New("logs endpoint: ServerCA holds no PEM certificate")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.Address, portString(a.cfg.LogPort)))
	if err != nil {
		return nil, fmt.Errorf("logs endpoint: %w", err)
	}
	tlsLn := tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	})
	a.mu.Lock()
	a.listener = tlsLn
	a.logPort = ln.Addr().(*net.TCPAddr).Port
	a.mu.Unlock()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", a.serveLogs)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, nil
}

// serveLogs answers GET /containerLogs/{namespace}/{pod}/{container} with
// the kubelet's query parameters.
func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || !slices.Contains(r.TLS.PeerCertificates[0].Subject.Organization, groupMasters) {
		http.Error(w, "forbidden: only administrators may read container logs", http.StatusForbidden)
		return
	}
	ns, name, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	pod, err := a.pods.Pods(ns).Get(name)
	if err != nil {
		http.Error(w, fmt.Sprintf("pod %s/%s not found on node %s", ns, name, a.cfg.NodeName), http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	opts, previous, err := logOptions(q.Get, a.cfg.Clock.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	list, err := a.cfg.Runner.List(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	at := groupAttempts(list, string(pod.UID))[container]
	c := at.Current
	if previous {
		c = at.Previous
		if c == nil {
			http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", container, name), http.StatusBadRequest)
			return
		}
	}
	if c == nil {
		http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start", container, name), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	if err := a.cfg.Runner.Logs(r.Context(), c.ID, opts, flushWriter{w}); err != nil && r.Context().Err() == nil {
		fmt.Fprintf(w, "\nerror reading logs: %v\n", err)
	}
}

// logOptions parses the query of a logs request.
func logOptions(get func(string) string, now time.Time) (runner.LogOptions, bool, error) {
	var o runner.LogOptions
	boolParam := func(k string) bool { v, _ := strconv.ParseBool(get(k)); return v }
	o.Follow, o.Timestamps = boolParam("follow"), boolParam("timestamps")
	intParam := func(k string) (*int64, error) {
		v := get(k)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid %s %q", k, v)
		}
		return &n, nil
	}
	var err error
	if o.TailLines, err = intParam("tailLines"); err != nil {
		return o, false, err
	}
	if o.LimitBytes, err = intParam("limitBytes"); err != nil {
		return o, false, err
	}
	since, err := intParam("sinceSeconds")
	if err != nil {
		return o, false, err
	}
	if since != nil {
		t := now.Add(-time.Duration(*since) * time.Second)
		o.SinceTime = &t
	}
	if v := get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return o, false, fmt.Errorf("invalid sinceTime %q", v)
		}
		o.SinceTime = &t
	}
	return o, boolParam("previous"), nil
}

// flushWriter flushes after every write so that followed logs stream.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

var _ io.Writer = flushWriter{}

// selfSigned makes the endpoint's serving certificate for the node's name
// and address.
func selfSigned(name, address string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: strings.Join([]string{name, "everynode-agent"}, "@")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name},
	}
	if ip := net.ParseIP(address); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
