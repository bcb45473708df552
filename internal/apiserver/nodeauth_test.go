package apiserver_test

import (
	"context"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/everynode/everynode/internal/auth"
	"github.com/everynode/everynode/internal/testserver"
)

// A node credential may write only its own Node, Lease and pods' status,
// and list only its own pods (the node authorizer and NodeRestriction).
func TestNodeCredentialIsRestricted(t *testing.T) {
	ctx := context.Background()
	srv := testserver.Start(t)
	admin := srv.Client
	cert, key, err := srv.CA.IssueClient(auth.NodeUserName("n1"), []string{auth.GroupNodes})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(srv.Config)
	cfg.CertData, cfg.KeyData = cert, key
	n1, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Pods("default").Create(ctx, pod("on-n2", "n2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Pods("default").Create(ctx, pod("on-n1", "n1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	allowed := []struct {
		name string
		do   func() error
	}{
		{"register own node", func() error {
			_, err := n1.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
			return err
		}},
		{"create own lease", func() error {
			_, err := n1.CoordinationV1().Leases("kube-node-lease").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
			return err
		}},
		{"list own pods", func() error {
			_, err := n1.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1"})
			return err
		}},
		{"update own pod status", func() error {
			p, err := n1.CoreV1().Pods("default").Get(ctx, "on-n1", metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Status.Phase = corev1.PodRunning
			_, err = n1.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		}},
	}
	for _, tc := range allowed {
		if err := tc.do(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	forbidden := []struct {
		name string
		do   func() error
		msg  string
	}{
		{"modify another node", func() error {
			_, err := n1.CoreV1().Nodes().Patch(ctx, "n2", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
			return err
		}, `nodes "n2" is forbidden: User "system:node:n1" cannot patch resource "nodes" in API group "" at the cluster scope: node 'n1' cannot modify node 'n2'`},
		{"register another node", func() error {
			_, err := n1.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n3"}}, metav1.CreateOptions{})
			return err
		}, `nodes "n3" is forbidden: node 'n1' cannot modify node 'n3'`},
		{"list every pod", func() error {
			_, err := n1.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
			return err
		}, `pods is forbidden: User "system:node:n1" cannot list resource "pods" in API group "" at the cluster scope: node 'n1' can only list and watch pods with fieldSelector spec.nodeName=n1`},
		{"status of another node's pod", func() error {
			p, err := admin.CoreV1().Pods("default").Get(ctx, "on-n2", metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Status.Phase = corev1.PodRunning
			_, err = n1.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		}, `pods "on-n2" is forbidden: node 'n1' can only update pod status for pods with spec.nodeName set to itself`},
		{"create a daemonset", func() error {
			_, err := n1.AppsV1().DaemonSets("default").Create(ctx, daemonSet("x"), metav1.CreateOptions{})
			return err
		}, `daemonsets.apps is forbidden: User "system:node:n1" cannot create resource "daemonsets" in API group "apps" in the namespace "default": node 'n1' is not allowed to create daemonsets`},
	}
	for _, tc := range forbidden {
		err := tc.do()
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: got %v, want 403", tc.name, err)
			continue
		}
		if err.Error() != tc.msg {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, err, tc.msg)
		}
	}
}
