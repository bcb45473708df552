// Package join is the agent's side of joining a cluster: it pins the
// cluster CA against the hash in a join token, exchanges the token and a
// fresh key's certificate request for a node credential, and (for an agent)
// writes the node's kubeconfig. Imported by the cli and by the simulator,
// which joins many nodes with one Client.
package join

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

// ErrRefused marks a join the server refused for good (a bad token, a name
// another credential owns): retrying cannot help.
var ErrRefused = errors.New("join refused")

// Client joins nodes to one cluster: the CA is fetched and pinned once,
// then each node sends its own key's certificate request.
type Client struct {
	url    string
	secret string
	caPEM  []byte
	http   *http.Client
}

// NewClient pins the CA of the server at url against token's hash.
func NewClient(ctx context.Context, url, token string) (*Client, error) {
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
	return &Client{url: url, secret: tok.Secret, caPEM: caPEM, http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			// A simulator joins from many goroutines at once; keep the
			// connections for the next joins.
			MaxIdleConnsPerHost: 64,
		},
	}}, nil
}

// CA is the pinned cluster CA (PEM).
func (c *Client) CA() []byte { return c.caPEM }

// CloseIdleConnections releases the client's idle connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Credential is a node's key and the certificate the server issued for it.
type Credential struct {
	CertPEM []byte
	Key     *ecdsa.PrivateKey
}

// KeyPEM encodes the key.
func (c Credential) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(c.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// Join obtains a credential for nodeName.
func (c *Client) Join(ctx context.Context, nodeName string) (Credential, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Credential{}, err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return Credential{}, err
	}
	body, err := json.Marshal(apiserver.JoinRequest{
		NodeName: nodeName,
		CSR:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})),
	})
	if err != nil {
		return Credential{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+apiserver.JoinPath, bytes.NewReader(body))
	if err != nil {
		return Credential{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return Credential{}, fmt.Errorf("join %s as %s: %w", c.url, nodeName, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return Credential{}, fmt.Errorf("join %s as %s: %w: %s: %s", c.url, nodeName, ErrRefused, resp.Status, bytes.TrimSpace(data))
	case resp.StatusCode != http.StatusOK:
		return Credential{}, fmt.Errorf("join %s as %s: %s: %s", c.url, nodeName, resp.Status, bytes.TrimSpace(data))
	}
	var out apiserver.JoinResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return Credential{}, fmt.Errorf("decode join response: %w", err)
	}
	return Credential{CertPEM: []byte(out.Certificate), Key: key}, nil
}

// Join obtains a credential for nodeName from the server at url and writes
// a kubeconfig for it to kubeconfigPath.
func Join(ctx context.Context, url, token, nodeName, kubeconfigPath string) error {
	c, err := NewClient(ctx, url, token)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	cred, err := c.Join(ctx, nodeName)
	if err != nil {
		return err
	}
	keyPEM, err := cred.KeyPEM()
	if err != nil {
		return err
	}
	return auth.WriteKubeconfig(kubeconfigPath, auth.Kubeconfig{
		Server: url, CAPEM: c.caPEM, CertPEM: cred.CertPEM, KeyPEM: keyPEM,
		User: auth.NodeUserName(nodeName),
	})
}

// fetchCA downloads the server's CA without trusting it yet, and accepts it
// only if it matches the token's hash (when the token has one).
func fetchCA(ctx context.Context, url, wantHash string) ([]byte, error) {
	// The CA is not known yet; integrity comes from the hash check below.
	insecure := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // pinned by hash
	}}
	defer insecure.CloseIdleConnections()
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
