package join

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/everynode/everynode/internal/auth"
	"github.com/everynode/everynode/internal/testserver"
)

func TestJoinIssuesANodeCredentialOnce(t *testing.T) {
	ctx := context.Background()
	srv := testserver.Start(t)
	kc := filepath.Join(t.TempDir(), "node.kubeconfig")
	if err := Join(ctx, srv.URL, srv.JoinToken, "n1", kc); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	node, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the joined credential cannot register its node: %v", err)
	}

	tests := []struct {
		name, token, node, want string
	}{
		{"a token cannot take over a registered node", srv.JoinToken, "n1", "409 Conflict"},
		{"a wrong secret is refused", auth.JoinToken{CAHash: auth.CAHash(srv.CA.CertPEM), Secret: "nope"}.String(), "n2", "401 Unauthorized"},
		{"a token for another CA is refused", auth.JoinToken{CAHash: strings.Repeat("0", 64), Secret: "x"}.String(), "n2", "does not match the join token's hash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Join(ctx, srv.URL, tc.token, tc.node, filepath.Join(t.TempDir(), "kc"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
