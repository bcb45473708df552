package nodelifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var rates = Rates{Primary: 0.1, Secondary: 0.01, LargeClusterSize: 50, UnhealthyThreshold: 0.55}

// readiness builds ready Ready conditions followed by notReady others
// (Unknown), nil ones counting as never posted.
func readiness(ready, notReady int) []*corev1.NodeCondition {
	var out []*corev1.NodeCondition
	for range ready {
		out = append(out, &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue})
	}
	for i := range notReady {
		if i%2 == 0 {
			out = append(out, &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown})
		} else {
			out = append(out, nil)
		}
	}
	return out
}

func TestComputeZoneState(t *testing.T) {
	cases := []struct {
		name         string
		ready, notOk int
		want         ZoneState
	}{
		{"R67 all ready: Normal", 4, 0, StateNormal},
		{"R67 no node ready: FullDisruption", 0, 3, StateFullDisruption},
		{"T5#18 R67 3 of 4 not ready: PartialDisruption", 1, 3, StatePartialDisruption},
		{"R67 2 not ready of 2 ready+2 is only 0.5: Normal", 2, 2, StateNormal},
		{"R67 only 2 not ready (not more than 2): Normal", 1, 2, StateNormal},
		{"R67 0.55 exactly is enough: 11 of 20", 9, 11, StatePartialDisruption},
		{"R67 just below 0.55: 10 of 19", 9, 10, StateNormal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, got := ComputeZoneState(readiness(tc.ready, tc.notOk), 0.55)
			if diff := cmp.Diff(tc.want, got); diff != "" || n != tc.notOk {
				t.Errorf("state (-want +got):\n%s; not ready %d want %d", diff, n, tc.notOk)
			}
		})
	}
}

func TestRates(t *testing.T) {
	cases := []struct {
		name  string
		state ZoneState
		size  int
		want  float64
	}{
		{"R67 Normal: primary rate", StateNormal, 10, 0.1},
		{"T5#18 R67 PartialDisruption in a small zone: 0", StatePartialDisruption, 4, 0},
		{"R67 PartialDisruption in a zone of exactly 50: 0", StatePartialDisruption, 50, 0},
		{"R67 PartialDisruption in a large zone: secondary", StatePartialDisruption, 51, 0.01},
		{"R67 FullDisruption of one zone: primary", StateFullDisruption, 10, 0.1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rates.For(tc.state, tc.size); got != tc.want {
				t.Errorf("rate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanDisruption(t *testing.T) {
	cases := []struct {
		name  string
		prev  map[string]ZoneState
		zones map[string][]*corev1.NodeCondition
		want  DisruptionPlan
	}{
		{
			name:  "R67 new zone starts at the rate of its state",
			zones: map[string][]*corev1.NodeCondition{"a": readiness(3, 0)},
			want:  DisruptionPlan{States: map[string]ZoneState{"a": StateNormal}, Rates: map[string]float64{"a": 0.1}},
		},
		{
			name:  "R67 unchanged state: no rate change",
			prev:  map[string]ZoneState{"a": StateNormal},
			zones: map[string][]*corev1.NodeCondition{"a": readiness(3, 0)},
			want:  DisruptionPlan{States: map[string]ZoneState{"a": StateNormal}, Rates: map[string]float64{}},
		},
		{
			name:  "T5#18 3 of 4 not ready in a small zone stops new NoExecute taints there",
			prev:  map[string]ZoneState{"a": StateNormal, "b": StateNormal},
			zones: map[string][]*corev1.NodeCondition{"a": readiness(1, 3), "b": readiness(2, 0)},
			want:  DisruptionPlan{States: map[string]ZoneState{"a": StatePartialDisruption, "b": StateNormal}, Rates: map[string]float64{"a": 0}},
		},
		{
			name:  "R67 one zone fully disrupted, another healthy: normal rate in the disrupted zone",
			prev:  map[string]ZoneState{"a": StateNormal, "b": StateNormal},
			zones: map[string][]*corev1.NodeCondition{"a": readiness(0, 2), "b": readiness(2, 0)},
			want:  DisruptionPlan{States: map[string]ZoneState{"a": StateFullDisruption, "b": StateNormal}, Rates: map[string]float64{"a": 0.1}},
		},
		{
			name:  "T5#17 all zones fully disrupted: remove NoExecute taints everywhere, stop tainting",
			prev:  map[string]ZoneState{"a": StateNormal, "b": StateFullDisruption},
			zones: map[string][]*corev1.NodeCondition{"a": readiness(0, 2), "b": readiness(0, 1)},
			want: DisruptionPlan{
				States:           map[string]ZoneState{"a": StateFullDisruption, "b": StateFullDisruption},
				Rates:            map[string]float64{"a": 0, "b": 0},
				MarkAllReachable: true,
			},
		},
		{
			name:  "T5#17 still all fully disrupted: nothing more",
			prev:  map[string]ZoneState{"a": StateFullDisruption, "b": StateFullDisruption},
			zones: map[string][]*corev1.NodeCondition{"a": readiness(0, 2), "b": readiness(0, 1)},
			want:  DisruptionPlan{States: map[string]ZoneState{"a": StateFullDisruption, "b": StateFullDisruption}, Rates: map[string]float64{}},
		},
		{
			name:  "R67 leaving master disruption resets probes and every zone's rate",
			prev:  map[string]ZoneState{"a": StateFullDisruption, "b": StateFullDisruption},
			zones: map[string][]*corev1.NodeCondition{"a": readiness(1, 1), "b": readiness(0, 1)},
			want: DisruptionPlan{
				States:      map[string]ZoneState{"a": StateNormal, "b": StateFullDisruption},
				Rates:       map[string]float64{"a": 0.1, "b": 0.1},
				ResetProbes: true,
			},
		},
		{
			name:  "R67 a zone without nodes is forgotten",
			prev:  map[string]ZoneState{"a": StateNormal, "gone": StateNormal},
			zones: map[string][]*corev1.NodeCondition{"a": readiness(1, 0)},
			want:  DisruptionPlan{States: map[string]ZoneState{"a": StateNormal}, Rates: map[string]float64{}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanDisruption(tc.prev, tc.zones, rates)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("PlanDisruption (-want +got):\n%s", diff)
			}
		})
	}
}

func TestZoneKey(t *testing.T) {
	cases := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"R67 no labels: the empty zone", nil, ""},
		{"R67 region and zone", map[string]string{corev1.LabelTopologyRegion: "r", corev1.LabelTopologyZone: "z"}, "r:\x00:z"},
		{"R67 deprecated labels as fallback", map[string]string{corev1.LabelFailureDomainBetaZone: "z"}, ":\x00:z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ZoneKey(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels}}); got != tc.want {
				t.Errorf("ZoneKey = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTaintQueue drives a zone queue with a fake timeline: T5#1's "first
// node ≈ immediately, then ≤1 node/10s" and T5#16's "Ready again before
// the taint: removed from the queue".
func TestTaintQueue(t *testing.T) {
	type step struct {
		at     time.Duration
		add    []string
		remove []string
		rate   float64 // swap the rate first when not zero; <0 means 0
	}
	cases := []struct {
		name  string
		steps []step
		want  map[time.Duration][]string // tainted at each step
	}{
		{
			name: "T5#1 R67 burst 1 then one node per 10s at 0.1/s",
			steps: []step{
				{at: 0, add: []string{"n1", "n2", "n3"}}, {at: 5 * time.Second}, {at: 10 * time.Second},
				{at: 15 * time.Second}, {at: 20 * time.Second},
			},
			want: map[time.Duration][]string{0: {"n1"}, 10 * time.Second: {"n2"}, 20 * time.Second: {"n3"}},
		},
		{
			name:  "T5#16 node Ready again before its turn leaves the queue",
			steps: []step{{at: 0, add: []string{"n1", "n2"}}, {at: 5 * time.Second, remove: []string{"n2"}}, {at: 10 * time.Second}},
			want:  map[time.Duration][]string{0: {"n1"}},
		},
		{
			name:  "T5#18 R67 rate 0 adds no taints",
			steps: []step{{at: 0, rate: -1, add: []string{"n1"}}, {at: time.Hour}},
			want:  map[time.Duration][]string{},
		},
		{
			name:  "R65 a tainted node is not queued again until removed",
			steps: []step{{at: 0, add: []string{"n1"}}, {at: 20 * time.Second, add: []string{"n1"}}},
			want:  map[time.Duration][]string{0: {"n1"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := newTaintQueue(0.1, t0)
			got := map[time.Duration][]string{}
			for _, s := range tc.steps {
				now := at(s.at)
				if s.rate != 0 {
					q.setRate(max(s.rate, 0), now)
				}
				for _, n := range s.add {
					q.add(n, now)
				}
				for _, n := range s.remove {
					q.remove(n)
				}
				q.try(now, func(name string) (bool, time.Duration) {
					got[s.at] = append(got[s.at], name)
					return true, 0
				})
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("tainted (-want +got):\n%s", diff)
			}
		})
	}
}
