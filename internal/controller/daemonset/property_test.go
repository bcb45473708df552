package daemonset

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/everynode/everynode/internal/placement"
)

// randomSnapshot builds a small random cluster: nodes with or without the
// selected label and NoSchedule/NoExecute taints, and pods in every state
// the planners distinguish.
func randomSnapshot(r *rand.Rand) *Snapshot {
	ds := mkDS(nodeSelector("role", "w"))
	if r.IntN(2) == 0 {
		ds = mkDS(nodeSelector("role", "w"), maxSurge(intstr.FromInt32(int32(1+r.IntN(2)))))
	}
	if r.IntN(4) == 0 {
		onDelete(ds)
	}
	var ns []*corev1.Node
	for i := range 1 + r.IntN(5) {
		n := mkNode(fmt.Sprintf("n%d", i))
		if r.IntN(4) != 0 {
			n.Labels["role"] = "w"
		}
		switch r.IntN(5) {
		case 0:
			taint("t", corev1.TaintEffectNoSchedule)(n)
		case 1:
			taint("t", corev1.TaintEffectNoExecute)(n)
		}
		ns = append(ns, n)
	}
	var pods []*corev1.Pod
	targets := append([]string{"gone"}, func() []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Name)
		}
		return out
	}()...)
	for i := range r.IntN(8) {
		p := mkPod(fmt.Sprintf("p%d", i), targets[r.IntN(len(targets))], created(r.IntN(3)))
		if r.IntN(2) == 0 {
			hash("hA")(p)
		}
		switch r.IntN(6) {
		case 0:
			phase(corev1.PodFailed)(p)
		case 1:
			phase(corev1.PodSucceeded)(p)
		case 2:
			deleting(p)
		}
		if r.IntN(2) == 0 {
			readyFor(r.IntN(120))(p)
		}
		if r.IntN(3) == 0 {
			unbound(p)
		}
		pods = append(pods, p)
	}
	ds.Spec.MinReadySeconds = int32(r.IntN(2) * 60)
	return snap(ds, ns, pods...)
}

func FuzzPlanInvariants(f *testing.F) {
	for seed := range uint64(200) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		s := randomSnapshot(r)
		decisions := s.decisions()
		checkStatus(t, s)
		// A deleted failed/succeeded pod is replaced by the next sync (T6#3),
		// so manage reaches its fixed point after at most two applied plans.
		cur := s
		var history []Plan
		for round := 0; ; round++ {
			p := planManage(cur)
			for _, c := range p.Creates {
				if !decisions[c.Node].ShouldRun {
					t.Fatalf("R202 create on %s where SR=false\n%s", c.Node, p)
				}
			}
			if !p.HasWrites() {
				break
			}
			history = append(history, p)
			if round == 2 {
				t.Fatalf("STYLE#2 manage does not settle: %v", history)
			}
			cur = cur.withPods(applyPlan(cur, p, nil))
			checkStatus(t, cur)
			checkOnePerNode(t, cur, decisions)
		}
		after := *cur
		rp, err := planRolling(&after)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rp.Creates {
			if !decisions[c.Node].ShouldRun {
				t.Fatalf("R202 rolling create on %s where SR=false\n%s", c.Node, rp)
			}
		}
	})
}

// checkOnePerNode is R200 for nodes in the cache.
func checkOnePerNode(t *testing.T, s *Snapshot, decisions map[string]placement.Decision) {
	t.Helper()
	limit := 1
	if surgeAllowed(s.DS) {
		limit = 2 // one old and one new
	}
	live := map[string]int{}
	for _, pod := range s.Pods {
		node, ok := placement.TargetNode(pod)
		if ok && pod.DeletionTimestamp == nil && !terminal(pod) {
			live[node]++
		}
	}
	for node, n := range live {
		if _, known := decisions[node]; known && n > limit {
			t.Fatalf("R200 %d live pods on %s (limit %d)", n, node, limit)
		}
	}
}

func checkStatus(t *testing.T, s *Snapshot) {
	t.Helper()
	c := computeStatus(s)
	if c.Current > c.Desired || c.Ready > c.Current || c.Available > c.Ready || c.Updated > c.Current || c.Unavailable != c.Desired-c.Available {
		t.Fatalf("R204 counters out of order: %+v", c)
	}
}
