package daemonset

import (
	"sync"
	"time"
)

// pacer keeps one DaemonSet's syncs from taking a whole core. On a large
// fleet a sync takes tens of milliseconds, and during a rollout every pod
// status change asks for another: synced back to back, one DaemonSet would
// keep a core busy that the API server needs to make those changes. The
// next sync of a key waits as long as its last one took, so a DaemonSet is
// synced at most half the time; on small fleets the wait is negligible.
type pacer struct {
	mu   sync.Mutex
	next map[string]time.Time
}

func newPacer() *pacer { return &pacer{next: map[string]time.Time{}} }

// wait returns how long the key must wait before it may sync at now.
func (p *pacer) wait(key string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next[key].Sub(now)
}

// done records a sync of key that ran from start to end.
func (p *pacer) done(key string, start, end time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next[key] = end.Add(end.Sub(start))
}

// forget drops a key whose DaemonSet is gone.
func (p *pacer) forget(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.next, key)
}
