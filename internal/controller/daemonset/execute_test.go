package daemonset

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/util/workqueue"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/everynode/everynode/internal/placement"
)

// countingController returns a controller whose pod creations are counted
// and fail for the nodes in failOn.
func countingController(failOn map[string]bool) (*Controller, *[]string) {
	client := fake.NewSimpleClientset()
	var mu sync.Mutex
	var calls []string
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		node, _ := placement.TargetNode(pod)
		mu.Lock()
		calls = append(calls, node)
		mu.Unlock()
		if failOn[node] {
			return true, nil, errors.New("boom")
		}
		pod.Name = pod.GenerateName + node
		return true, pod, nil
	})
	clk := testingclock.NewFakeClock(t0)
	return &Controller{
		client: client, clock: clk, recorder: recorderNop{},
		expectations: newExpectations(clk), backoff: newFailedPodBackoff(),
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
	}, &calls
}

func TestExecuteBurstAndSlowStart(t *testing.T) {
	t.Run("T6#18 R82 at most 250 creations per sync", func(t *testing.T) {
		c, calls := countingController(nil)
		defer c.queue.ShutDown()
		var p Plan
		for _, n := range numbered("n", 300) {
			p.create(n, ReasonNoPod)
		}
		if err := c.execute(context.Background(), "default/ds", mkDS(), curHash, p); err != nil {
			t.Fatal(err)
		}
		if len(*calls) != burstReplicas {
			t.Errorf("creations = %d, want %d", len(*calls), burstReplicas)
		}
		if c.expectations.satisfied("default/ds") {
			t.Error("R81 expectations satisfied before any pod was observed")
		}
	})
	t.Run("R83 a failure in a batch skips the later batches", func(t *testing.T) {
		c, calls := countingController(map[string]bool{"n003": true})
		defer c.queue.ShutDown()
		var p Plan
		for _, n := range numbered("n", 20) {
			p.create(n, ReasonNoPod)
		}
		if err := c.execute(context.Background(), "default/ds", mkDS(), curHash, p); err == nil {
			t.Fatal("want the creation error back")
		}
		// batches 1, 2, 4: n003 fails in the third batch, nothing after it.
		if diff := cmp.Diff(7, len(*calls)); diff != "" {
			t.Errorf("creations issued (-want +got):\n%s", diff)
		}
		// 6 creations succeeded but their add events never come in this
		// test: the rest (1 failed + 13 skipped) must already be settled.
		c.expectations.observe("default/ds", 6, 0)
		if !c.expectations.satisfied("default/ds") {
			t.Error("R83 skipped and failed creations still expected")
		}
	})
}

func TestExpectationsTTL(t *testing.T) {
	clk := testingclock.NewFakeClock(t0)
	e := newExpectations(clk)
	e.expect("k", 1, 0)
	if e.satisfied("k") {
		t.Fatal("R81 fresh expectation satisfied")
	}
	clk.Step(expectationsTTL + 1)
	if !e.satisfied("k") {
		t.Error("R81 expectation outlived its 5-minute TTL")
	}
}

// recorderNop drops events.
type recorderNop struct{}

func (recorderNop) Event(runtime.Object, string, string, string)          {}
func (recorderNop) Eventf(runtime.Object, string, string, string, ...any) {}
func (recorderNop) AnnotatedEventf(runtime.Object, map[string]string, string, string, string, ...any) {
}
