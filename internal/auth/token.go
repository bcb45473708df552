package auth

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Join tokens let an agent register a node once. A token as handed to users
// reads "K10<sha256 of the CA certificate, hex>::<secret>" (the k3s format):
// the hash lets the agent pin the CA before trusting the server, the secret
// authenticates the join request.
const tokenPrefix = "K10"

// JoinToken is a parsed join token.
type JoinToken struct {
	CAHash string
	Secret string
}

// String renders the token as users pass it.
func (t JoinToken) String() string { return tokenPrefix + t.CAHash + "::" + t.Secret }

// ParseJoinToken parses a full token, or a bare secret (then CAHash is "").
func ParseJoinToken(s string) (JoinToken, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return JoinToken{}, errors.New("empty join token")
	}
	rest, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return JoinToken{Secret: s}, nil
	}
	hash, secret, ok := strings.Cut(rest, "::")
	if !ok || len(hash) != 64 || secret == "" {
		return JoinToken{}, errors.New("malformed join token: want K10<ca-sha256>::<secret>")
	}
	if _, err := hex.DecodeString(hash); err != nil {
		return JoinToken{}, fmt.Errorf("malformed join token CA hash: %w", err)
	}
	return JoinToken{CAHash: hash, Secret: secret}, nil
}

// CAHash is the hex SHA-256 of a PEM CA bundle, as tokens carry it.
func CAHash(caPEM []byte) string {
	sum := sha256.Sum256(caPEM)
	return hex.EncodeToString(sum[:])
}

// Tokens are the join secrets a server accepts, kept one per line in a file
// of the data dir so that `everynode token create` can add one while the
// server runs.
type Tokens struct {
	path string
	mu   sync.Mutex
}

// NewTokens returns the token file at dir/join-tokens.
func NewTokens(dir string) *Tokens { return &Tokens{path: filepath.Join(dir, "join-tokens")} }

// Create adds a new secret and returns it.
func (t *Tokens) Create() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	secret := rand.Text()
	f, err := os.OpenFile(t.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("open token file: %w", err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, secret); err != nil {
		return "", fmt.Errorf("write token file: %w", err)
	}
	return secret, nil
}

// Valid reports whether secret is a known join secret.
func (t *Tokens) Valid(secret string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := os.Open(t.path)
	if err != nil {
		return false
	}
	defer f.Close()
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && subtle.ConstantTimeCompare([]byte(line), []byte(secret)) == 1 {
			found = true
		}
	}
	return found
}

// First returns the first secret, creating one if there is none.
func (t *Tokens) First() (string, error) {
	t.mu.Lock()
	data, err := os.ReadFile(t.path)
	t.mu.Unlock()
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if s := strings.TrimSpace(line); s != "" {
				return s, nil
			}
		}
	}
	return t.Create()
}
