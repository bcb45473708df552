// Package loopback connects in-process clients (the controllers running
// inside the server) to the apiserver over in-memory connections: real HTTP,
// no sockets, no TLS. Imported by the cli, which wires it.
package loopback

import (
	"context"
	"errors"
	"net"
	"sync"

	"k8s.io/client-go/rest"
)

// Listener is a net.Listener whose connections come from Dial.
type Listener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

// NewListener returns an open listener.
func NewListener() *Listener {
	return &Listener{conns: make(chan net.Conn), done: make(chan struct{})}
}

type addr struct{}

func (addr) Network() string { return "memory" }
func (addr) String() string  { return "everynode-loopback" }

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; Dial fails afterwards.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr is a placeholder address.
func (l *Listener) Addr() net.Addr { return addr{} }

// Dial opens a connection to the listener.
func (l *Listener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, errors.New("loopback listener closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Config returns a client configuration that reaches the server behind l,
// authenticating with token.
func (l *Listener) Config(token string) *rest.Config {
	return &rest.Config{
		Host:        "http://everynode-loopback",
		BearerToken: token,
		Dial:        l.Dial,
		// The server is in-process; client-side throttling only slows it.
		QPS:   -1,
		Burst: -1,
		// Protobuf is several times cheaper to encode and decode than JSON.
		ContentConfig: rest.ContentConfig{
			ContentType:        "application/vnd.kubernetes.protobuf",
			AcceptContentTypes: "application/vnd.kubernetes.protobuf,application/json",
		},
	}
}
