package daemonset

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func failedEvent(pod, node string) Event {
	return Event{Type: corev1.EventTypeWarning, Reason: EventFailedDaemonPod,
		Message: "Found failed daemon pod default/" + pod + " on node " + node + ", will try to kill it"}
}

func TestPlanManage(t *testing.T) {
	n1 := nodes("n1")
	ns := mkNode("n1", taint("dedicated", corev1.TaintEffectNoSchedule))
	ne := mkNode("n1", taint("dedicated", corev1.TaintEffectNoExecute))
	cases := []struct {
		name string
		s    *Snapshot
		want Plan
	}{
		{"T6#1 R38a no pod: create", snap(mkDS(), n1), Plan{Creates: []Create{{"n1", ReasonNoPod}}}},
		{"T6#2 one running pod: nothing", snap(mkDS(), n1, mkPod("a", "n1")), Plan{}},
		{"T6#3 R94 failed pod: delete with event", snap(mkDS(), n1, mkPod("a", "n1", phase(corev1.PodFailed))),
			Plan{Deletes: []Delete{{"a", "n1", ReasonFailed}}, Events: []Event{failedEvent("a", "n1")}, BackoffNodes: []string{"n1"}}},
		{"T6#4 R94 failed pod inside backoff: requeue after the rest of the delay",
			func() *Snapshot {
				s := snap(mkDS(), n1, mkPod("a", "n1", phase(corev1.PodFailed)))
				s.Backoff = map[string]BackoffEntry{"n1": {Delay: 4 * time.Second, LastUpdate: t0.Add(-time.Second)}}
				return s
			}(),
			Plan{RequeueAfter: 3 * time.Second}},
		{"T6#5 R94 succeeded pod: delete, no backoff", snap(mkDS(), n1, mkPod("a", "n1", phase(corev1.PodSucceeded))),
			Plan{Deletes: []Delete{{"a", "n1", ReasonSucceeded}}, Events: []Event{{Type: corev1.EventTypeNormal, Reason: EventSucceededDaemonPod,
				Message: "Found succeeded daemon pod default/a on node n1, will try to delete it"}}}},
		{"T6#6 R92 failed pod being deleted is ignored: create", snap(mkDS(), n1, mkPod("a", "n1", phase(corev1.PodFailed), deleting)),
			Plan{Creates: []Create{{"n1", ReasonNoPod}}}},
		{"T6#7 R95 terminating pod blocks replacement", snap(mkDS(), n1, mkPod("a", "n1", deleting)), Plan{}},
		{"T6#8 R95 with surge a terminating pod does not block", snap(mkDS(maxSurge(intstr.FromInt32(1))), n1, mkPod("a", "n1", deleting)),
			Plan{Creates: []Create{{"n1", ReasonNoPod}}}},
		{"T6#9 R96 three running: delete the two newer",
			snap(mkDS(), n1, mkPod("c", "n1", created(3)), mkPod("a", "n1", created(1)), mkPod("b", "n1", created(2))),
			Plan{Deletes: []Delete{{"b", "n1", ReasonDuplicate}, {"c", "n1", ReasonDuplicate}}}},
		{"T6#10 R96 same timestamp: name decides", snap(mkDS(), n1, mkPod("a-y", "n1"), mkPod("a-x", "n1")),
			Plan{Deletes: []Delete{{"a-y", "n1", ReasonDuplicate}}}},
		{"T6#11 R96 bound pod wins over older unbound one",
			snap(mkDS(), n1, mkPod("bound", "n1", created(5)), mkPod("pending", "n1", created(1), unbound, phase(corev1.PodPending))),
			Plan{Deletes: []Delete{{"pending", "n1", ReasonDuplicate}}}},
		{"T6#12 failed + three running: failed and two newest go",
			snap(mkDS(), n1, mkPod("f", "n1", phase(corev1.PodFailed)), mkPod("a", "n1", created(1)), mkPod("b", "n1", created(2)), mkPod("c", "n1", created(3))),
			Plan{Deletes: []Delete{{"b", "n1", ReasonDuplicate}, {"c", "n1", ReasonDuplicate}, {"f", "n1", ReasonFailed}},
				Events: []Event{failedEvent("f", "n1")}, BackoffNodes: []string{"n1"}}},
		{"T6#13 R39 SR=F SCR=T running pod kept", snap(mkDS(), []*corev1.Node{ns}, mkPod("a", "n1")), Plan{}},
		{"T6#14 SR=F SCR=T failed pod deleted, not replaced", snap(mkDS(), []*corev1.Node{ns}, mkPod("a", "n1", phase(corev1.PodFailed))),
			Plan{Deletes: []Delete{{"a", "n1", ReasonFailed}}, Events: []Event{failedEvent("a", "n1")}, BackoffNodes: []string{"n1"}}},
		{"T6#15 R38c SR=F SCR=F: delete non-terminating pods",
			snap(mkDS(), []*corev1.Node{ne}, mkPod("a", "n1"), mkPod("b", "n1"), mkPod("c", "n1", deleting)),
			Plan{Deletes: []Delete{{"a", "n1", ReasonShouldNotRun}, {"b", "n1", ReasonShouldNotRun}}}},
		{"T6#16 R93 unbound pod targeting deleted node is deleted", snap(mkDS(), nil, mkPod("a", "gone", unbound)),
			Plan{Deletes: []Delete{{"a", "gone", ReasonNodeGone}}}},
		{"T6#17 R93 bound pod on deleted node is left to PodGC", snap(mkDS(), nil, mkPod("a", "gone")), Plan{}},
		{"R38c nodeSelector no longer matches: delete", snap(mkDS(nodeSelector("role", "w")), n1, mkPod("a", "n1")),
			Plan{Deletes: []Delete{{"a", "n1", ReasonShouldNotRun}}}},
		{"R202 no create where SR is false", snap(mkDS(nodeSelector("role", "w")), n1), Plan{}},
		{"R91 pod without target node is ignored", snap(mkDS(), n1, func() *corev1.Pod {
			p := mkPod("a", "")
			return p
		}()), Plan{Creates: []Create{{"n1", ReasonNoPod}}}},
		{"R97 surge: old not ready next to new is deleted",
			snap(mkDS(maxSurge(intstr.FromInt32(1))), n1, mkPod("old", "n1", hash("hA")), mkPod("new", "n1", created(1))),
			Plan{Deletes: []Delete{{"old", "n1", ReasonSurgeOldNotReady}}}},
		{"R97 surge: old ready, new available: old deleted",
			snap(mkDS(maxSurge(intstr.FromInt32(1))), n1, mkPod("old", "n1", hash("hA"), ready), mkPod("new", "n1", created(1), ready)),
			Plan{Deletes: []Delete{{"old", "n1", ReasonSurgeNewAvailable}}}},
		{"R97 surge: old ready, new not yet available: both kept",
			snap(mkDS(maxSurge(intstr.FromInt32(1)), minReady(60)), n1, mkPod("old", "n1", hash("hA"), ready), mkPod("new", "n1", created(1), readyFor(30))),
			Plan{}},
		{"R97 surge: extra new and old pods pruned, oldest of each kept",
			snap(mkDS(maxSurge(intstr.FromInt32(1))), n1, mkPod("old1", "n1", hash("hA"), ready, created(1)), mkPod("old2", "n1", hash("hA"), created(2)),
				mkPod("new1", "n1", created(3)), mkPod("new2", "n1", created(4))),
			Plan{Deletes: []Delete{{"new2", "n1", ReasonDuplicate}, {"old2", "n1", ReasonDuplicate}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := planManage(tc.s)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("planManage (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFailedPodBackoffSequence drives T6#4 over several syncs: deletions are
// allowed at 0s, 1s, 3s, 7s (delays 1s, 2s, 4s) and the delay caps at 15m.
func TestFailedPodBackoffSequence(t *testing.T) {
	b := newFailedPodBackoff()
	ds := mkDS()
	var deletedAt []time.Duration
	for sec := 0; sec <= 8; sec++ {
		now := t0.Add(time.Duration(sec) * time.Second)
		s := snap(ds, nodes("n1"), mkPod("f", "n1", phase(corev1.PodFailed)))
		s.Now = now
		s.Backoff = b.entries(ds, now)
		p := planManage(s)
		for _, n := range p.BackoffNodes {
			b.advance(ds, n, now)
		}
		if len(p.Deletes) > 0 {
			deletedAt = append(deletedAt, time.Duration(sec)*time.Second)
		} else if p.RequeueAfter <= 0 {
			t.Fatalf("at %ds: no deletion and no requeue", sec)
		}
	}
	want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
	if diff := cmp.Diff(want, deletedAt); diff != "" {
		t.Errorf("deletion times (-want +got):\n%s", diff)
	}
	e := BackoffEntry{Delay: 10 * time.Minute, LastUpdate: t0}
	if got := nextBackoff(e, true, t0.Add(11*time.Minute)); got.Delay != backoffMax {
		t.Errorf("R94 delay after 10m = %s, want capped at %s", got.Delay, backoffMax)
	}
	if got := nextBackoff(e, true, t0.Add(31*time.Minute)); got.Delay != backoffInitial {
		t.Errorf("R94 delay after 31m idle = %s, want reset to %s", got.Delay, backoffInitial)
	}
}

func TestBackoffKeyedByObservedGeneration(t *testing.T) {
	b := newFailedPodBackoff()
	ds := mkDS()
	b.advance(ds, "n1", t0)
	next := ds.DeepCopy()
	next.Status.ObservedGeneration = 3
	if got := b.entries(next, t0); len(got) != 0 {
		t.Errorf("R94 backoff of generation 0 leaked into generation 3: %v", got)
	}
	if got := b.entries(ds, t0); len(got) != 1 {
		t.Errorf("R94 backoff entry missing for its own key: %v", got)
	}
}

func TestClassifyOwnership(t *testing.T) {
	ds := mkDS()
	sel := labelsSelector(t, ds)
	other := mkPod("x", "n1")
	other.OwnerReferences[0].UID = "other"
	orphan := mkPod("o", "n1")
	orphan.OwnerReferences = nil
	edited := mkPod("e", "n1")
	edited.Labels["app"] = "b"
	editedDeleting := mkPod("ed", "n1", deleting)
	editedDeleting.Labels["app"] = "b"
	orphanDeleting := mkPod("od", "n1", deleting)
	orphanDeleting.OwnerReferences = nil
	orphanOther := mkPod("oo", "n1")
	orphanOther.OwnerReferences = nil
	orphanOther.Labels["app"] = "b"
	cases := []struct {
		name string
		pod  *corev1.Pod
		want ownership
	}{
		{"R90 owned and matching: keep", mkPod("k", "n1"), keep},
		{"T6#19 R90 orphan matching: adopt", orphan, adopt},
		{"T6#20 R90 owned, labels edited: release", edited, release},
		{"R90 owned, edited but terminating: not released", editedDeleting, ignore},
		{"R90 orphan terminating: not adopted", orphanDeleting, ignore},
		{"R90 orphan not matching: ignored", orphanOther, ignore},
		{"R205 controlled by another object: never touched", other, ignore},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := classifyOwnership(ds, sel, tc.pod); got != tc.want {
				t.Errorf("classifyOwnership(%s) = %d, want %d", tc.pod.Name, got, tc.want)
			}
		})
	}
	gone := mkDS(func(d *appsv1.DaemonSet) { d.DeletionTimestamp = orphanDeleting.DeletionTimestamp })
	if got := classifyOwnership(gone, sel, orphan); got != ignore {
		t.Errorf("R90 DaemonSet being deleted adopts: got %d", got)
	}
}
