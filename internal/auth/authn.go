package auth

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
)

// User is an authenticated caller.
type User struct {
	Name   string
	Groups []string
}

// Well-known groups, as in Kubernetes.
const (
	GroupMasters       = "system:masters"
	GroupAuthenticated = "system:authenticated"
)

// Authenticator maps a request to a user: by a client certificate signed by
// the cluster CA (verified by the TLS layer), or by a bearer token.
type Authenticator struct {
	mu     sync.RWMutex
	tokens map[string]User
}

// NewAuthenticator returns an authenticator knowing the given tokens.
func NewAuthenticator(tokens map[string]User) *Authenticator {
	a := &Authenticator{tokens: map[string]User{}}
	for t, u := range tokens {
		a.tokens[t] = u
	}
	return a
}

// AddToken lets token authenticate as u.
func (a *Authenticator) AddToken(token string, u User) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[token] = u
}

// Authenticate returns the request's user, or false when it has no valid
// credential.
func (a *Authenticator) Authenticate(r *http.Request) (User, bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		c := r.TLS.VerifiedChains[0][0]
		if c.Subject.CommonName != "" {
			groups := append([]string{}, c.Subject.Organization...)
			return User{Name: c.Subject.CommonName, Groups: append(groups, GroupAuthenticated)}, true
		}
	}
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return User{}, false
	}
	token = strings.TrimSpace(token)
	a.mu.RLock()
	defer a.mu.RUnlock()
	for t, u := range a.tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			return User{Name: u.Name, Groups: append(append([]string{}, u.Groups...), GroupAuthenticated)}, true
		}
	}
	return User{}, false
}
