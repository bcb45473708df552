package apiserver_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/everynode/everynode/internal/testserver"
)

// FuzzRequestBodies sends arbitrary bodies to the write endpoints in every
// media type the server decodes: whatever arrives, the answer is a Status
// (or the object), never a 5xx or a dropped connection (STYLE #12: decoders
// never panic).
func FuzzRequestBodies(f *testing.F) {
	srv := testserver.Start(f)
	ctx := context.Background()
	if _, err := srv.Client.AppsV1().DaemonSets("default").Create(ctx, daemonSet("target"), metav1.CreateOptions{}); err != nil {
		f.Fatal(err)
	}
	rt, err := rest.TransportFor(srv.Config)
	if err != nil {
		f.Fatal(err)
	}
	client := &http.Client{Transport: rt}

	type endpoint struct{ method, path, contentType string }
	endpoints := []endpoint{
		{http.MethodPost, "/api/v1/namespaces/default/pods", "application/json"},
		{http.MethodPost, "/apis/apps/v1/namespaces/default/daemonsets", "application/yaml"},
		{http.MethodPost, "/api/v1/nodes", "application/vnd.kubernetes.protobuf"},
		{http.MethodPut, "/apis/apps/v1/namespaces/default/daemonsets/target", "application/json"},
		{http.MethodPut, "/apis/apps/v1/namespaces/default/daemonsets/target/status", "application/json"},
		{http.MethodPatch, "/apis/apps/v1/namespaces/default/daemonsets/target", "application/strategic-merge-patch+json"},
		{http.MethodPatch, "/apis/apps/v1/namespaces/default/daemonsets/target", "application/merge-patch+json"},
		{http.MethodPatch, "/apis/apps/v1/namespaces/default/daemonsets/target", "application/json-patch+json"},
		{http.MethodDelete, "/api/v1/namespaces/default/pods/none", "application/json"},
		{http.MethodPost, "/api/v1/namespaces/default/pods/none/binding", "application/json"},
	}
	for i, seed := range []string{
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x"}]}}`,
		"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: y}\n",
		"\x6b\x38\x73\x00\x0a\x04",
		`{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"target","resourceVersion":"1"}}`,
		`{"status":{"numberReady":-1,"collisionCount":-3}}`,
		`{"spec":{"template":{"spec":{"containers":[{"name":"c","$patch":"delete"}]}}}}`,
		`{"spec":null,"metadata":{"labels":{"a":{"b":1}}}}`,
		`[{"op":"replace","path":"/spec/selector","value":[]},{"op":"move","from":"/x","path":"/y"}]`,
		`{"propagationPolicy":"Sideways","gracePeriodSeconds":-7}`,
		`{"target":{"name":""}}`,
		``, `null`, `[]`, `{"kind":"Status"}`, "{\"metadata\":{\"name\":\"\xff\"}}",
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ep := endpoints[int(which)%len(endpoints)]
		req, err := http.NewRequestWithContext(ctx, ep.method, srv.URL+ep.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ep.contentType)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: the server dropped the request: %v", ep.method, ep.path, err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: %d %s", ep.method, ep.path, body, resp.StatusCode, data)
		}
	})
}
