package worker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

func TestRunRetriesFailuresAndRequeuesOnRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	q := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond))
	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{})
	fn := func(_ context.Context, key string) (time.Duration, error) {
		mu.Lock()
		defer mu.Unlock()
		calls[key]++
		switch {
		case key == "flaky" && calls[key] < 3:
			return 0, errors.New("not yet")
		case key == "again" && calls[key] < 2:
			return time.Millisecond, nil
		}
		if calls["flaky"] >= 3 && calls["again"] >= 2 && calls["once"] == 1 {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		return 0, nil
	}
	q.Add("flaky")
	q.Add("again")
	q.Add("once")
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, "test", q, 2, []cache.InformerSynced{func() bool { return true }}, fn) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("calls %v: flaky should be retried until it succeeds, again requeued once", calls)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["once"] != 1 || calls["flaky"] != 3 || calls["again"] != 2 {
		t.Fatalf("calls %v, want once=1 flaky=3 again=2", calls)
	}
}

func TestRunFailsWhenCachesNeverSync(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	err := Run(ctx, "test", q, 1, []cache.InformerSynced{func() bool { return false }}, NoRequeue(func(context.Context, string) error { return nil }))
	if err == nil {
		t.Fatal("Run succeeded with caches that never sync")
	}
}
