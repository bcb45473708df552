package daemonset

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	ms := time.Millisecond
	type run struct{ start, took time.Duration } // start after the previous sync ended
	fiveOf100ms := []run{{0, 100 * ms}, {0, 100 * ms}, {0, 100 * ms}, {0, 100 * ms}, {0, 100 * ms}}
	tests := []struct {
		name  string
		syncs []run
		after time.Duration // when the next sync asks, after the last ended
		want  time.Duration
	}{
		{name: "first sync never waits", want: 0},
		{name: "a short burst runs at once", syncs: []run{{0, 50 * ms}, {0, 50 * ms}, {0, 50 * ms}}, want: 0},
		// Each 100 ms sync spends 100 and refills 50 of the 250 ms budget:
		// after five, 50 ms of debt.
		{name: "past the burst: wait twice the debt", syncs: fiveOf100ms, want: 100 * ms},
		{name: "the debt refills while waiting", syncs: fiveOf100ms, after: 60 * ms, want: 40 * ms},
		{name: "back to back settles at half the time", syncs: []run{
			{0, 200 * ms}, {0, 200 * ms}, {100 * ms, 200 * ms}, {200 * ms, 200 * ms}, {200 * ms, 200 * ms}}, want: 200 * ms},
		{name: "an idle key has its whole burst again", syncs: []run{{0, 400 * ms}, {10 * time.Second, 200 * ms}}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer()
			now := time.Unix(1000, 0)
			for _, s := range tc.syncs {
				now = now.Add(s.start)
				end := now.Add(s.took)
				p.done("ns/ds", now, end)
				now = end
			}
			if got := p.wait("ns/ds", now.Add(tc.after)); got != tc.want {
				t.Errorf("wait %v, want %v", got, tc.want)
			}
			p.forget("ns/ds")
			if got := p.wait("ns/ds", now); got != 0 {
				t.Errorf("after forget: wait %v, want 0", got)
			}
		})
	}
}
