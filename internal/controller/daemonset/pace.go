package daemonset

import (
	"sync"
	"time"
)

// pacer keeps one DaemonSet's syncs from taking a whole core. On a large
// fleet a sync takes tens of milliseconds, and during a rollout every pod
// status change asks for another: synced back to back, one DaemonSet would
// keep a core busy that the API server needs to make those changes.
//
// Each key has a budget of sync time that refills at half the wall-clock
// rate, up to paceBurst; a sync spends what it took, and a key in debt
// waits until its budget is back to zero. Syncing without pause thus
// settles at half the time (a sync, then a wait as long), while the few
// syncs of a node joining or a pod changing — four or five in a row —
// run at once.
type pacer struct {
	mu   sync.Mutex
	keys map[string]*budget
}

// budget is a key's sync time left at a moment.
type budget struct {
	left time.Duration
	at   time.Time
}

const (
	paceBurst = 250 * time.Millisecond
	// paceShare: the budget refills at 1/paceShare of the time passing.
	paceShare = 2
)

func (b budget) leftAt(now time.Time) time.Duration {
	return min(paceBurst, b.left+now.Sub(b.at)/paceShare)
}

func newPacer() *pacer { return &pacer{keys: map[string]*budget{}} }

// wait returns how long the key must wait before it may sync at now.
func (p *pacer) wait(key string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.keys[key]
	if !ok {
		return 0
	}
	if left := b.leftAt(now); left < 0 {
		return -left * paceShare
	}
	return 0
}

// done records a sync of key that ran from start to end.
func (p *pacer) done(key string, start, end time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.keys[key]
	if !ok {
		b = &budget{left: paceBurst, at: start}
		p.keys[key] = b
	}
	b.left = b.leftAt(end) - end.Sub(start)
	b.at = end
}

// forget drops a key whose DaemonSet is gone.
func (p *pacer) forget(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.keys, key)
}
