package store

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// TestHistoryBounds checks the two bounds of the watch history: at most
// HistoryLength changes, and none older than HistoryAge beyond the newest
// minHistory.
func TestHistoryBounds(t *testing.T) {
	tests := []struct {
		name       string
		length     int
		old, fresh int // changes recorded, then more after HistoryAge passed
		wantSize   int
		wantOldest int64 // history is complete after this revision
	}{
		{name: "within both bounds", length: 1000, old: 50, fresh: 10, wantSize: 60, wantOldest: 0},
		{name: "count bound only", length: 120, old: 150, fresh: 0, wantSize: 120, wantOldest: 30},
		{name: "old changes dropped down to the minimum", length: 1000, old: 300, fresh: 1, wantSize: minHistory, wantOldest: 201},
		{name: "fresh changes beyond the minimum kept", length: 1000, old: 300, fresh: 150, wantSize: 150, wantOldest: 300},
		{name: "count bound wins over age", length: 50, old: 10, fresh: 80, wantSize: 50, wantOldest: 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
			c := newCache(&Resource{cfg: ResourceConfig{HistoryLength: tc.length, HistoryAge: time.Minute, Clock: clk}})
			rev := int64(0)
			add := func(n int) {
				for range n {
					rev++
					c.record(&change{rev: rev, cur: &entry{key: "k"}})
				}
			}
			add(tc.old)
			clk.SetTime(clk.Now().Add(2 * time.Minute))
			add(tc.fresh)
			if c.size != tc.wantSize || c.oldest != tc.wantOldest {
				t.Errorf("size %d, complete after %d; want %d, after %d", c.size, c.oldest, tc.wantSize, tc.wantOldest)
			}
			if newest := c.history[(c.head+c.size-1)%len(c.history)]; newest.rev != rev {
				t.Errorf("newest change %d, want %d", newest.rev, rev)
			}
		})
	}
}
