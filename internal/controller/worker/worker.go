// Package worker runs the loop every controller shares: wait for the
// informer caches, then let N goroutines take keys from a rate-limited
// queue and hand them to the controller's sync function until the context
// ends, retrying failures with the queue's backoff. Imported by the
// controllers.
package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Sync handles one key. An error requeues the key with the queue's rate
// limit; otherwise its failures are forgotten and, when after > 0, it is
// looked at again after that long.
type Sync[K comparable] func(ctx context.Context, key K) (after time.Duration, err error)

// Loop is more work run next to the workers until ctx ends (a periodic
// pass, say).
type Loop func(ctx context.Context)

// Run waits for synced, runs workers (at least one) calling fn over q, and
// the loops,
// until ctx ends; it shuts q down and waits for every goroutine before it
// returns. name names the controller in logs and errors.
func Run[K comparable](ctx context.Context, name string, q workqueue.TypedRateLimitingInterface[K], workers int, synced []cache.InformerSynced, fn Sync[K], loops ...Loop) error {
	defer q.ShutDown()
	logger := klog.FromContext(ctx).WithName(name)
	ctx = klog.NewContext(ctx, logger)
	if !cache.WaitForNamedCacheSync(name, ctx.Done(), synced...) {
		return fmt.Errorf("%s: caches did not sync: %w", name, context.Cause(ctx))
	}
	logger.Info("Starting", "workers", max(workers, 1))
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for next(ctx, q, fn) {
			}
		})
	}
	for _, loop := range loops {
		wg.Go(func() { loop(ctx) })
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
	return nil
}

// next processes one key; false means the queue shut down.
func next[K comparable](ctx context.Context, q workqueue.TypedRateLimitingInterface[K], fn Sync[K]) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	after, err := fn(ctx, key)
	if err != nil {
		if ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "Sync failed; will retry", "key", key)
		}
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	if after > 0 {
		q.AddAfter(key, after)
	}
	return true
}

// NoRequeue adapts a sync function that never asks to be called back.
func NoRequeue[K comparable](fn func(ctx context.Context, key K) error) Sync[K] {
	return func(ctx context.Context, key K) (time.Duration, error) { return 0, fn(ctx, key) }
}
