package agent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCrashLoopBackOffDelays(t *testing.T) {
	// A container crashing right after each restart: waits 0 (first
	// restart is immediate), then 10s doubling to the 5 min cap.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var b backoff
	now := t0
	var waits []time.Duration
	for range 9 {
		until, wait := b.waitUntil(now, now)
		d := time.Duration(0)
		if wait {
			d = until.Sub(now)
		}
		waits = append(waits, d)
		now = now.Add(d)
		b = b.next(now.Add(-d))
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 300 * time.Second, 300 * time.Second, 300 * time.Second}
	if diff := cmp.Diff(want, waits); diff != "" {
		t.Errorf("backoff waits (-want +got):\n%s", diff)
	}
}

func TestCrashLoopBackOffReset(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	deep := backoff{Delay: 160 * time.Second, Since: t0}
	tests := []struct {
		name     string
		finished time.Time
		wantWait bool
		wantNext time.Duration
	}{
		{"crash soon after a restart keeps doubling", t0.Add(30 * time.Second), true, 300 * time.Second},
		{"crash after 10 min running starts over", t0.Add(10*time.Minute + time.Second), false, 10 * time.Second},
		{"crash at exactly 10 min still doubles", t0.Add(10 * time.Minute), true, 300 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, wait := deep.waitUntil(tt.finished, tt.finished)
			got := []any{wait, deep.next(tt.finished).Delay}
			if diff := cmp.Diff([]any{tt.wantWait, tt.wantNext}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
