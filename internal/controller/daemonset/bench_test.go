package daemonset

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/everynode/everynode/internal/placement"
)

// BenchmarkSyncPlanning measures the pure part of one sync of a DaemonSet
// whose pods all run, Ready and current, on every node: claiming, then the
// manage, rolling update and status planners over a fresh snapshot, as
// every pod status change during a rollout asks for.
func BenchmarkSyncPlanning(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			ds := mkDS()
			selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
			if err != nil {
				b.Fatal(err)
			}
			ns := nodes(numbered("node-", n)...)
			pods := make([]*corev1.Pod, n)
			for i, node := range ns {
				p := mkPod(fmt.Sprintf("ds-%d", i), node.Name, ready)
				placement.PinToNode(&p.Spec, node.Name)
				pods[i] = p
			}
			b.ReportAllocs()
			for b.Loop() {
				var owned []*corev1.Pod
				for _, p := range pods {
					if classifyOwnership(ds, selector, p) == keep {
						owned = append(owned, p)
					}
				}
				s := snap(ds, ns, owned...)
				if p := planManage(s); p.HasWrites() {
					b.Fatalf("manage plan writes: %s", p.String())
				}
				if p, err := planRolling(s); err != nil || p.HasWrites() {
					b.Fatalf("rolling plan: %v %s", err, p.String())
				}
				if c := computeStatus(s); c.Ready != int32(n) {
					b.Fatalf("status %+v", c)
				}
			}
		})
	}
}
