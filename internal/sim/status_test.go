package sim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNodeName(t *testing.T) {
	cases := []struct {
		name   string
		prefix string
		i, n   int
		want   string
	}{
		{"single node has one digit", "sim-", 0, 1, "sim-0"},
		{"ten nodes still one digit", "sim-", 9, 10, "sim-9"},
		{"padded to the widest index", "sim-", 7, 1000, "sim-007"},
		{"last of 10000", "n", 9999, 10000, "n9999"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, nodeName(tc.prefix, tc.i, tc.n)); diff != "" {
				t.Errorf("nodeName (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodeIP(t *testing.T) {
	cases := []struct {
		name string
		i    int
		want string
	}{
		{"first", 0, "10.128.0.1"},
		{"crosses an octet", 255, "10.128.1.0"},
		{"ten thousandth", 9999, "10.128.39.16"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, nodeIP(tc.i)); diff != "" {
				t.Errorf("nodeIP (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodeObject(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	n := nodeObject("sim-1", "10.128.0.2",
		map[string]string{"fleet": "a", corev1.LabelHostname: "spoofed"},
		[]corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}}, now)
	got := struct {
		Labels      map[string]string
		Taints      []corev1.Taint
		Allocatable map[corev1.ResourceName]string
		Ready       corev1.ConditionStatus
		InternalIP  string
	}{Labels: n.Labels, Taints: n.Spec.Taints, Allocatable: map[corev1.ResourceName]string{}}
	for k, v := range n.Status.Allocatable {
		got.Allocatable[k] = v.String()
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			got.Ready = c.Status
		}
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			got.InternalIP = a.Address
		}
	}
	want := got
	want.Labels = map[string]string{"fleet": "a", corev1.LabelHostname: "sim-1", corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64"}
	want.Taints = []corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}}
	want.Allocatable = map[corev1.ResourceName]string{corev1.ResourceCPU: "4", corev1.ResourceMemory: "16Gi", corev1.ResourcePods: "110"}
	want.Ready = corev1.ConditionTrue
	want.InternalIP = "10.128.0.2"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nodeObject (-want +got):\n%s", diff)
	}
}

func TestNodeStatusTransitionTimes(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(5 * time.Minute)
	cases := []struct {
		name           string
		oldReady       corev1.ConditionStatus
		wantTransition time.Time
	}{
		{"R60 heartbeat keeps the transition time of an unchanged condition", corev1.ConditionTrue, t0},
		{"R62 Ready again after Unknown is a transition", corev1.ConditionUnknown, t1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := nodeStatus("n", "10.128.0.1", t0, nil)
			for i := range old.Conditions {
				if old.Conditions[i].Type == corev1.NodeReady {
					old.Conditions[i].Status = tc.oldReady
				}
			}
			old.Conditions = append(old.Conditions, corev1.NodeCondition{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse})
			st := nodeStatus("n", "10.128.0.1", t1, &old)
			got := map[corev1.NodeConditionType][2]time.Time{}
			for _, c := range st.Conditions {
				got[c.Type] = [2]time.Time{c.LastHeartbeatTime.UTC(), c.LastTransitionTime.UTC()}
			}
			want := map[corev1.NodeConditionType][2]time.Time{
				corev1.NodeMemoryPressure:     {t1, t0},
				corev1.NodeDiskPressure:       {t1, t0},
				corev1.NodePIDPressure:        {t1, t0},
				corev1.NodeReady:              {t1, tc.wantTransition},
				corev1.NodeNetworkUnavailable: {},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("conditions (heartbeat, transition) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunningStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	now := time.Date(2026, 12, 3, 10, 0, 7, 0, time.UTC)
	tn := metav1.NewTime(now)
	pending := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{UID: "u1"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "agent", Image: "busybox:1.36"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodPending, QOSClass: corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t0},
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: t0},
				{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: t0},
			},
		},
	}
	got := runningStatus(pending, "10.128.0.9", now)
	want := corev1.PodStatus{
		Phase: corev1.PodRunning, QOSClass: corev1.PodQOSBurstable,
		HostIP: "10.128.0.9", HostIPs: []corev1.HostIP{{IP: "10.128.0.9"}},
		PodIP: "10.128.0.9", PodIPs: []corev1.PodIP{{IP: "10.128.0.9"}},
		StartTime: &tn,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue, LastTransitionTime: tn},
			// Already true: its transition time stays.
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: t0},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: tn},
			// False before: this is its transition.
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: tn},
			// Not the node's to change.
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t0},
		},
		InitContainerStatuses: []corev1.ContainerStatus{{
			Name: "init", Image: "busybox", ImageID: "busybox", ContainerID: "fake://u1-init", Started: new(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				Reason: "Completed", StartedAt: tn, FinishedAt: tn, ContainerID: "fake://u1-init"}},
		}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "agent", Image: "busybox:1.36", ImageID: "busybox:1.36", ContainerID: "fake://u1-agent",
			Ready: true, Started: new(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: tn}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runningStatus (-want +got):\n%s", diff)
	}
	if !podRunningReady(&corev1.Pod{Status: got}) {
		t.Errorf("podRunningReady(runningStatus(...)) = false, want true")
	}
}

func TestPodRunningReady(t *testing.T) {
	cases := []struct {
		name  string
		phase corev1.PodPhase
		ready corev1.ConditionStatus
		want  bool
	}{
		{"running and ready", corev1.PodRunning, corev1.ConditionTrue, true},
		{"running, not ready", corev1.PodRunning, corev1.ConditionFalse, false},
		{"pending", corev1.PodPending, corev1.ConditionTrue, false},
		{"running without a Ready condition", corev1.PodRunning, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Status: corev1.PodStatus{Phase: tc.phase}}
			if tc.ready != "" {
				pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: tc.ready}}
			}
			if got := podRunningReady(pod); got != tc.want {
				t.Errorf("podRunningReady = %v, want %v", got, tc.want)
			}
		})
	}
}
