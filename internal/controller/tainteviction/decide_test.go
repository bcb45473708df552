package tainteviction

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ne(key string) corev1.Taint {
	return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoExecute}
}

func tolFor(key string, seconds *int64) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
}

// defaultTols are what admission adds to an ordinary pod (R69).
var defaultTols = []corev1.Toleration{
	tolFor(corev1.TaintNodeNotReady, ptr.To[int64](300)),
	tolFor(corev1.TaintNodeUnreachable, ptr.To[int64](300)),
}

// daemonTols are the DaemonSet controller's automatic tolerations (R50).
var daemonTols = []corev1.Toleration{
	tolFor(corev1.TaintNodeNotReady, nil),
	tolFor(corev1.TaintNodeUnreachable, nil),
}

func TestDecide(t *testing.T) {
	maint := ne("maint")
	untolerated := ne("b")
	cases := []struct {
		name    string
		taints  []corev1.Taint
		tols    []corev1.Toleration
		now     time.Time
		pending *Pending
		want    Decision
	}{
		{
			name:   "T5#1 R71 ordinary pod on unreachable node: deleted 300s after observation",
			taints: []corev1.Taint{ne(corev1.TaintNodeUnreachable)},
			tols:   defaultTols, now: t0,
			want: Decision{Action: Schedule, At: t0.Add(300 * time.Second), Reason: ReasonTolerationSeconds},
		},
		{
			name:   "T5#2 daemon pod tolerates unreachable forever",
			taints: []corev1.Taint{ne(corev1.TaintNodeUnreachable)},
			tols:   daemonTols, now: t0,
			want: Decision{Action: Nothing, Reason: ReasonToleratedForever},
		},
		{
			name:   "T5#3 daemon pod with template toleration Exists:NoExecute 60s placed first",
			taints: []corev1.Taint{ne(corev1.TaintNodeUnreachable)},
			tols:   append([]corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](60)}}, daemonTols...),
			now:    t0,
			want:   Decision{Action: Schedule, At: t0.Add(60 * time.Second), Reason: ReasonTolerationSeconds},
		},
		{
			name:   "T5#4 ordinary pod on not-ready node: 300s",
			taints: []corev1.Taint{ne(corev1.TaintNodeNotReady)},
			tols:   defaultTols, now: t0,
			want: Decision{Action: Schedule, At: t0.Add(300 * time.Second), Reason: ReasonTolerationSeconds},
		},
		{
			name:   "T5#4 daemon pod on not-ready node is kept",
			taints: []corev1.Taint{ne(corev1.TaintNodeNotReady)},
			tols:   daemonTols, now: t0,
			want: Decision{Action: Nothing, Reason: ReasonToleratedForever},
		},
		{
			name:   "T5#5 R70 untolerated maint:NoExecute deletes now",
			taints: []corev1.Taint{maint},
			tols:   defaultTols, now: t0,
			want: Decision{Action: DeleteNow, Taint: &maint, Reason: ReasonUntolerated},
		},
		{
			name:   "T5#6 maint tolerated 600s",
			taints: []corev1.Taint{maint},
			tols:   []corev1.Toleration{tolFor("maint", ptr.To[int64](600))},
			now:    t0,
			want:   Decision{Action: Schedule, At: t0.Add(600 * time.Second), Reason: ReasonTolerationSeconds},
		},
		{
			name:   "T5#7 R71 minimum of used tolerations",
			taints: []corev1.Taint{ne("a"), ne("b")},
			tols:   []corev1.Toleration{tolFor("a", ptr.To[int64](300)), tolFor("b", ptr.To[int64](60))},
			now:    t0,
			want:   Decision{Action: Schedule, At: t0.Add(60 * time.Second), Reason: ReasonTolerationSeconds},
		},
		{
			name:   "T5#8 infinite toleration does not lower the minimum",
			taints: []corev1.Taint{ne("a"), ne("b")},
			tols:   []corev1.Toleration{tolFor("a", ptr.To[int64](300)), tolFor("b", nil)},
			now:    t0,
			want:   Decision{Action: Schedule, At: t0.Add(300 * time.Second), Reason: ReasonTolerationSeconds},
		},
		{
			name:   "T5#9 one of two taints untolerated deletes now",
			taints: []corev1.Taint{ne("a"), untolerated},
			tols:   []corev1.Toleration{tolFor("a", nil)},
			now:    t0,
			want:   Decision{Action: DeleteNow, Taint: &untolerated, Reason: ReasonUntolerated},
		},
		{
			name:   "T5#10 R73 first matching toleration wins (60s first)",
			taints: []corev1.Taint{ne("a")},
			tols:   []corev1.Toleration{tolFor("a", ptr.To[int64](60)), tolFor("a", nil)},
			now:    t0,
			want:   Decision{Action: Schedule, At: t0.Add(60 * time.Second), Reason: ReasonTolerationSeconds},
		},
		{
			name:   "T5#11 R73 first matching toleration wins (forever first)",
			taints: []corev1.Taint{ne("a")},
			tols:   []corev1.Toleration{tolFor("a", nil), tolFor("a", ptr.To[int64](60))},
			now:    t0,
			want:   Decision{Action: Nothing, Reason: ReasonToleratedForever},
		},
		{
			name:   "T5#12 tolerationSeconds 0 deletes now",
			taints: []corev1.Taint{ne("a")},
			tols:   []corev1.Toleration{tolFor("a", ptr.To[int64](0))},
			now:    t0,
			want:   Decision{Action: DeleteNow, Reason: ReasonNoTolerationTime},
		},
		{
			name:   "T5#12 tolerationSeconds -10 deletes now",
			taints: []corev1.Taint{ne("a")},
			tols:   []corev1.Toleration{tolFor("a", ptr.To[int64](-10))},
			now:    t0,
			want:   Decision{Action: DeleteNow, Reason: ReasonNoTolerationTime},
		},
		{
			name:    "T5#13 R72 taint removed cancels the scheduled deletion",
			taints:  nil,
			tols:    []corev1.Toleration{tolFor("a", ptr.To[int64](300))},
			now:     t0.Add(100 * time.Second),
			pending: &Pending{Since: t0, At: t0.Add(300 * time.Second)},
			want:    Decision{Action: Cancel, Reason: ReasonNoTaints},
		},
		{
			name:   "T5#14 NoSchedule taint never evicts",
			taints: []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}},
			now:    t0,
			want:   Decision{Action: Nothing, Reason: ReasonNoTaints},
		},
		{
			name:   "T5#15 PreferNoSchedule taint never evicts",
			taints: []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectPreferNoSchedule}},
			now:    t0,
			want:   Decision{Action: Nothing, Reason: ReasonNoTaints},
		},
		{
			name:    "R72 pod becomes tolerated forever: cancel",
			taints:  []corev1.Taint{ne("a")},
			tols:    []corev1.Toleration{tolFor("a", nil)},
			now:     t0.Add(10 * time.Second),
			pending: &Pending{Since: t0, At: t0.Add(60 * time.Second)},
			want:    Decision{Action: Cancel, Reason: ReasonToleratedForever},
		},
		{
			name:    "R72 a second taint with a shorter timeout keeps the original fire time",
			taints:  []corev1.Taint{ne("a"), ne("b")},
			tols:    []corev1.Toleration{tolFor("a", ptr.To[int64](300)), tolFor("b", ptr.To[int64](10))},
			now:     t0.Add(100 * time.Second),
			pending: &Pending{Since: t0, At: t0.Add(300 * time.Second)},
			want:    Decision{Action: Keep, At: t0.Add(300 * time.Second), Reason: ReasonAlreadyScheduledAt},
		},
		{
			name:    "R72 a longer timeout keeps the original fire time",
			taints:  []corev1.Taint{ne("a")},
			tols:    []corev1.Toleration{tolFor("a", ptr.To[int64](900))},
			now:     t0.Add(100 * time.Second),
			pending: &Pending{Since: t0, At: t0.Add(300 * time.Second)},
			want:    Decision{Action: Keep, At: t0.Add(300 * time.Second), Reason: ReasonAlreadyScheduledAt},
		},
		{
			name:    "R71 scheduled time reached: delete",
			taints:  []corev1.Taint{ne("a")},
			tols:    []corev1.Toleration{tolFor("a", ptr.To[int64](300))},
			now:     t0.Add(300 * time.Second),
			pending: &Pending{Since: t0, At: t0.Add(300 * time.Second)},
			want:    Decision{Action: DeleteNow, Reason: ReasonTolerationExpired},
		},
		{
			name:    "R70 untolerated taint while scheduled: delete now",
			taints:  []corev1.Taint{ne("a"), untolerated},
			tols:    []corev1.Toleration{tolFor("a", ptr.To[int64](300))},
			now:     t0.Add(5 * time.Second),
			pending: &Pending{Since: t0, At: t0.Add(300 * time.Second)},
			want:    Decision{Action: DeleteNow, Taint: &untolerated, Reason: ReasonUntolerated},
		},
		{
			name:   "R69 Equal toleration with a value does not tolerate a value-less taint",
			taints: []corev1.Taint{ne(corev1.TaintNodeNotReady)},
			tols:   []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpEqual, Value: "x", Effect: corev1.TaintEffectNoExecute}},
			now:    t0,
			want:   Decision{Action: DeleteNow, Taint: ptr.To(ne(corev1.TaintNodeNotReady)), Reason: ReasonUntolerated},
		},
		{
			name:   "R71 huge tolerationSeconds does not overflow",
			taints: []corev1.Taint{ne("a")},
			tols:   []corev1.Toleration{tolFor("a", ptr.To[int64](1<<62))},
			now:    t0,
			want:   Decision{Action: Schedule, At: t0.Add(1<<63 - 1), Reason: ReasonTolerationSeconds},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.taints, tc.tols, tc.now, tc.pending)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decide(%v, %v) mismatch (-want +got):\n%s", tc.taints, tc.tols, diff)
			}
		})
	}
}

func TestUsedTolerations(t *testing.T) {
	a60 := tolFor("a", ptr.To[int64](60))
	aForever := tolFor("a", nil)
	any30 := corev1.Toleration{Operator: corev1.TolerationOpExists, TolerationSeconds: ptr.To[int64](30)}
	cases := []struct {
		name   string
		taints []corev1.Taint
		tols   []corev1.Toleration
		want   []corev1.Toleration
	}{
		{"R73 first match per taint", []corev1.Taint{ne("a")}, []corev1.Toleration{a60, aForever}, []corev1.Toleration{a60}},
		{"R73 one toleration used by two taints", []corev1.Taint{ne("a"), ne("b")}, []corev1.Toleration{any30}, []corev1.Toleration{any30, any30}},
		{"R73 untolerated taint uses nothing", []corev1.Taint{ne("z")}, []corev1.Toleration{a60}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, UsedTolerations(tc.taints, tc.tols)); diff != "" {
				t.Errorf("UsedTolerations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
