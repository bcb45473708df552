package sim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/everynode/everynode/internal/apiserver"
	"github.com/everynode/everynode/internal/auth"
)

// joiner runs the join protocol of internal/join for many nodes at once:
// the CA is fetched and pinned once, then each node sends its own key's
// certificate request and gets its own client certificate. Credentials stay
// in memory, unlike join.Join's kubeconfig file per node.
type joiner struct {
	url    string
	secret string
	caPEM  []byte
	pool   *x509.CertPool
	client *http.Client
}

// errRefused marks a join the server refused for good (bad token, name
// taken): retrying cannot help.
var errRefused = errors.New("join refused")

func newJoiner(ctx context.Context, url, token string) (*joiner, error) {
	tok, err := auth.ParseJoinToken(token)
	if err != nil {
		return nil, err
	}
	caPEM, err := fetchCA(ctx, url, tok.CAHash)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("server %s sent no CA certificate", url)
	}
	return &joiner{
		url: url, secret: tok.Secret, caPEM: caPEM, pool: pool,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			// Joins come from many goroutines at once; keep their
			// connections for the next ones.
			MaxIdleConnsPerHost: 64,
		}},
	}, nil
}

// join obtains a client certificate for nodeName.
func (j *joiner) join(ctx context.Context, nodeName string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	body, err := json.Marshal(apiserver.JoinRequest{
		NodeName: nodeName,
		CSR:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})),
	})
	if err != nil {
		return tls.Certificate{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url+apiserver.JoinPath, bytes.NewReader(body))
	if err != nil {
		return tls.Certificate{}, err
	}
	req.Header.Set("Authorization", "Bearer "+j.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("join %s as %s: %w", j.url, nodeName, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return tls.Certificate{}, fmt.Errorf("join %s as %s: %w: %s: %s", j.url, nodeName, errRefused, resp.Status, bytes.TrimSpace(data))
	case resp.StatusCode != http.StatusOK:
		return tls.Certificate{}, fmt.Errorf("join %s as %s: %s: %s", j.url, nodeName, resp.Status, bytes.TrimSpace(data))
	}
	var out apiserver.JoinResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return tls.Certificate{}, fmt.Errorf("decode join response: %w", err)
	}
	block, _ := pem.Decode([]byte(out.Certificate))
	if block == nil {
		return tls.Certificate{}, fmt.Errorf("join %s as %s: the response holds no certificate", j.url, nodeName)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("join %s as %s: %w", j.url, nodeName, err)
	}
	return tls.Certificate{Certificate: [][]byte{block.Bytes}, PrivateKey: key, Leaf: leaf}, nil
}

// fetchCA downloads the server's CA without trusting it yet, and accepts it
// only if it matches the token's hash (when the token has one).
func fetchCA(ctx context.Context, url, wantHash string) ([]byte, error) {
	insecure := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // pinned by hash below
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+apiserver.CAPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := insecure.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch CA from %s: %w", url, err)
	}
	defer resp.Body.Close()
	caPEM, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch CA from %s: %s", url, resp.Status)
	}
	if wantHash != "" && auth.CAHash(caPEM) != wantHash {
		return nil, fmt.Errorf("the CA of %s does not match the join token's hash: refusing to join", url)
	}
	return caPEM, nil
}
