package daemonset

import (
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// failedPodBackoff remembers, per `<DS UID>/<observedGeneration>/<node>`,
// how long to wait before deleting the next failed daemon pod (R94).
type failedPodBackoff struct {
	mu sync.Mutex
	m  map[string]BackoffEntry
}

func newFailedPodBackoff() *failedPodBackoff {
	return &failedPodBackoff{m: map[string]BackoffEntry{}}
}

func backoffPrefix(ds *appsv1.DaemonSet) string {
	return fmt.Sprintf("%s/%d/", ds.UID, ds.Status.ObservedGeneration)
}

// entries returns this DaemonSet's entries by node name, dropping entries
// idle for more than twice the maximum delay (30 minutes).
func (b *failedPodBackoff) entries(ds *appsv1.DaemonSet, now time.Time) map[string]BackoffEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	prefix := backoffPrefix(ds)
	out := map[string]BackoffEntry{}
	for k, e := range b.m {
		if now.Sub(e.LastUpdate) > 2*backoffMax {
			delete(b.m, k)
			continue
		}
		if node, ok := strings.CutPrefix(k, prefix); ok {
			out[node] = e
		}
	}
	return out
}

// advance records a permitted deletion on node at now.
func (b *failedPodBackoff) advance(ds *appsv1.DaemonSet, node string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := backoffPrefix(ds) + node
	e, ok := b.m[key]
	b.m[key] = nextBackoff(e, ok, now)
}
