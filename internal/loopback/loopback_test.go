package loopback

import (
	"context"
	"io"
	"net/http"
	"testing"
)

func TestRequestsReachTheHandler(t *testing.T) {
	l := NewListener()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("Authorization")+" "+r.URL.Path)
	})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	cfg := l.Config("secret")
	client := &http.Client{Transport: &http.Transport{DialContext: cfg.Dial}}
	for _, path := range []string{"/a", "/b"} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, cfg.Host+path, nil)
		req.Header.Set("Authorization", "Bearer "+cfg.BearerToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := "Bearer secret " + path; string(body) != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
	l.Close()
	if _, err := l.Dial(context.Background(), "", ""); err == nil {
		t.Fatal("dial after close succeeded")
	}
}
