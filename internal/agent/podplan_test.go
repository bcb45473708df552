package agent

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/everynode/everynode/internal/agent/runner"
)

// planSummary is the part of a plan the table compares.
type planSummary struct {
	Start   []string // container:attempt
	Stop    []string
	Remove  []runner.ID
	Phase   corev1.PodPhase
	States  []string // container: state reason
	Ready   corev1.ConditionStatus
	Delete  bool
	Requeue time.Duration
}

func summarize(p podPlan) planSummary {
	s := planSummary{Remove: p.Remove, Phase: p.Status.Phase, Delete: p.Delete, Requeue: p.Requeue,
		Ready: condition(p.Status.Conditions, corev1.PodReady)}
	for _, a := range p.Start {
		s.Start = append(s.Start, a.Spec.Name+":"+itoa(a.Spec.Attempt))
	}
	for _, a := range p.Stop {
		s.Stop = append(s.Stop, string(a.ID)+"/"+a.Grace.String())
	}
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			st := cs.Name + ":"
			switch {
			case cs.State.Waiting != nil:
				st += "waiting " + cs.State.Waiting.Reason
			case cs.State.Running != nil:
				st += "running"
			case cs.State.Terminated != nil:
				st += "terminated " + cs.State.Terminated.Reason
			}
			s.States = append(s.States, st)
		}
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPlanPod(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	running := func(id, name string, attempt int) runner.Container {
		return runner.Container{ID: runner.ID(id), PodUID: "u", Name: name, Attempt: attempt,
			State: runner.State{Running: true, StartedAt: now.Add(-time.Minute)}}
	}
	exited := func(id, name string, attempt, code int, ago time.Duration) runner.Container {
		return runner.Container{ID: runner.ID(id), PodUID: "u", Name: name, Attempt: attempt,
			State: runner.State{Exited: true, ExitCode: code, StartedAt: now.Add(-ago - time.Second), FinishedAt: now.Add(-ago)}}
	}
	pod := func(policy corev1.RestartPolicy, inits ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"},
			Spec: corev1.PodSpec{NodeName: "n1", RestartPolicy: policy,
				Containers: []corev1.Container{{Name: "app", Image: "img", Command: []string{"run"}}}}}
		for _, n := range inits {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "img", Command: []string{"init"}})
		}
		return p
	}
	deleting := func(p *corev1.Pod, grace int64) *corev1.Pod {
		p.DeletionTimestamp = &metav1.Time{Time: now}
		p.DeletionGracePeriodSeconds = &grace
		return p
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		observed []runner.Container
		memory   map[string]containerMemory
		probes   map[runner.ID]probeStatus
		stopping map[runner.ID]bool
		want     planSummary
	}{
		{
			name: "new pod starts its container", pod: pod(corev1.RestartPolicyAlways),
			want: planSummary{Start: []string{"app:0"}, Phase: corev1.PodPending, States: []string{"app:waiting ContainerCreating"}, Ready: corev1.ConditionFalse},
		},
		{
			name: "running container is left alone", pod: pod(corev1.RestartPolicyAlways),
			observed: []runner.Container{running("c1", "app", 0)},
			want:     planSummary{Phase: corev1.PodRunning, States: []string{"app:running"}, Ready: corev1.ConditionTrue},
		},
		{
			name: "first crash restarts at once", pod: pod(corev1.RestartPolicyAlways),
			observed: []runner.Container{exited("c1", "app", 0, 1, time.Second)},
			want:     planSummary{Start: []string{"app:1"}, Phase: corev1.PodRunning, States: []string{"app:waiting ContainerCreating"}, Ready: corev1.ConditionFalse},
		},
		{
			name: "second crash within backoff waits in CrashLoopBackOff", pod: pod(corev1.RestartPolicyAlways),
			observed: []runner.Container{exited("c1", "app", 0, 1, time.Minute), exited("c2", "app", 1, 1, 3*time.Second)},
			memory:   map[string]containerMemory{"app": {Backoff: backoff{Delay: 10 * time.Second, Since: now.Add(-time.Minute)}}},
			want:     planSummary{Phase: corev1.PodRunning, States: []string{"app:waiting CrashLoopBackOff"}, Ready: corev1.ConditionFalse, Requeue: 7 * time.Second},
		},
		{
			name: "backoff over: restart and drop the attempt before the previous", pod: pod(corev1.RestartPolicyAlways),
			observed: []runner.Container{exited("c1", "app", 0, 1, time.Minute), exited("c2", "app", 1, 1, 30*time.Second), exited("c3", "app", 2, 1, 11*time.Second)},
			memory:   map[string]containerMemory{"app": {Backoff: backoff{Delay: 10 * time.Second, Since: now.Add(-30 * time.Second)}}},
			want:     planSummary{Start: []string{"app:3"}, Remove: []runner.ID{"c1"}, Phase: corev1.PodRunning, States: []string{"app:waiting ContainerCreating"}, Ready: corev1.ConditionFalse},
		},
		{
			name: "OnFailure: exit 0 completes the pod", pod: pod(corev1.RestartPolicyOnFailure),
			observed: []runner.Container{exited("c1", "app", 0, 0, time.Second)},
			want:     planSummary{Phase: corev1.PodSucceeded, States: []string{"app:terminated Completed"}, Ready: corev1.ConditionFalse},
		},
		{
			name: "Never: a failure fails the pod", pod: pod(corev1.RestartPolicyNever),
			observed: []runner.Container{exited("c1", "app", 0, 2, time.Second)},
			want:     planSummary{Phase: corev1.PodFailed, States: []string{"app:terminated Error"}, Ready: corev1.ConditionFalse},
		},
		{
			name: "init containers run first, one at a time", pod: pod(corev1.RestartPolicyAlways, "i1", "i2"),
			want: planSummary{Start: []string{"i1:0"}, Phase: corev1.PodPending, Ready: corev1.ConditionFalse,
				States: []string{"i1:waiting ContainerCreating", "i2:waiting PodInitializing", "app:waiting PodInitializing"}},
		},
		{
			name: "after the last init container the app starts", pod: pod(corev1.RestartPolicyAlways, "i1"),
			observed: []runner.Container{exited("c1", "i1", 0, 0, time.Second)},
			want: planSummary{Start: []string{"app:0"}, Phase: corev1.PodPending, Ready: corev1.ConditionFalse,
				States: []string{"i1:terminated Completed", "app:waiting ContainerCreating"}},
		},
		{
			name: "Never: a failed init container fails the pod", pod: pod(corev1.RestartPolicyNever, "i1"),
			observed: []runner.Container{exited("c1", "i1", 0, 1, time.Second)},
			want: planSummary{Phase: corev1.PodFailed, Ready: corev1.ConditionFalse,
				States: []string{"i1:terminated Error", "app:waiting PodInitializing"}},
		},
		{
			name: "readiness probe not yet passed: running but not ready", pod: pod(corev1.RestartPolicyAlways),
			observed: []runner.Container{running("c1", "app", 0)},
			probes:   map[runner.ID]probeStatus{"c1": {Started: true}},
			want:     planSummary{Phase: corev1.PodRunning, States: []string{"app:running"}, Ready: corev1.ConditionFalse},
		},
		{
			name: "liveness failure stops the container with the pod's grace", pod: pod(corev1.RestartPolicyAlways),
			observed: []runner.Container{running("c1", "app", 0)},
			probes:   map[runner.ID]probeStatus{"c1": {Started: true, Ready: true, Unhealthy: true}},
			want:     planSummary{Stop: []string{"c1/30s"}, Phase: corev1.PodRunning, States: []string{"app:running"}, Ready: corev1.ConditionTrue},
		},
		{
			name: "deletion stops running containers with the deletion grace", pod: deleting(pod(corev1.RestartPolicyAlways), 7),
			observed: []runner.Container{running("c1", "app", 0)},
			want:     planSummary{Stop: []string{"c1/7s"}, Phase: corev1.PodRunning, States: []string{"app:running"}, Ready: corev1.ConditionTrue, Requeue: time.Second},
		},
		{
			name: "deletion does not stop twice", pod: deleting(pod(corev1.RestartPolicyAlways), 7),
			observed: []runner.Container{running("c1", "app", 0)}, stopping: map[runner.ID]bool{"c1": true},
			want: planSummary{Phase: corev1.PodRunning, States: []string{"app:running"}, Ready: corev1.ConditionTrue, Requeue: time.Second},
		},
		{
			name: "deleted pod with nothing running is terminal and deleted", pod: deleting(pod(corev1.RestartPolicyAlways), 7),
			observed: []runner.Container{exited("c1", "app", 0, 143, time.Second)},
			want:     planSummary{Phase: corev1.PodFailed, States: []string{"app:terminated Error"}, Ready: corev1.ConditionFalse, Delete: true},
		},
		{
			name: "start failure within backoff shows ImagePullBackOff", pod: pod(corev1.RestartPolicyAlways),
			memory: map[string]containerMemory{"app": {StartErr: &runner.StartError{Reason: "ErrImagePull", Message: "no such image"},
				StartErrAt: now.Add(-2 * time.Second), Backoff: backoff{Delay: 10 * time.Second, Since: now.Add(-2 * time.Second)}}},
			want: planSummary{Phase: corev1.PodPending, States: []string{"app:waiting ImagePullBackOff"}, Ready: corev1.ConditionFalse, Requeue: 8 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := podSnapshot{Pod: tt.pod, HostIP: "10.0.0.1", RuntimeName: "process", Now: now,
				Observed: groupAttempts(tt.observed, "u"), Memory: tt.memory, Probes: tt.probes, Stopping: tt.stopping}
			got := summarize(planPod(s))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanPodIsStable(t *testing.T) {
	// Applying a plan's status and planning again changes nothing.
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Image: "img"}}}}
	obs := groupAttempts([]runner.Container{{ID: "c1", PodUID: "u", Name: "app",
		State: runner.State{Running: true, StartedAt: now.Add(-time.Minute + 300*time.Millisecond)}}}, "u")
	first := planPod(podSnapshot{Pod: p, HostIP: "10.0.0.1", RuntimeName: "process", Now: now, Observed: obs})
	p.Status = first.Status
	second := planPod(podSnapshot{Pod: p, HostIP: "10.0.0.1", RuntimeName: "process", Now: now.Add(time.Minute), Observed: obs})
	if diff := cmp.Diff(first.Status, second.Status); diff != "" {
		t.Errorf("status changed on replanning (-first +second):\n%s", diff)
	}
}

func TestAdmit(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"disk": "ssd"}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "maint", Effect: corev1.TaintEffectNoExecute}, {Key: "gpu", Effect: corev1.TaintEffectNoSchedule}}}}
	tolerateMaint := []corev1.Toleration{{Key: "maint", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
	tests := []struct {
		name        string
		selector    map[string]string
		tolerations []corev1.Toleration
		want        string
	}{
		{"R75 untolerated NoExecute taint rejects", nil, nil, RejectTaint},
		{"R75 NoSchedule taint alone does not reject", nil, tolerateMaint, ""},
		{"nodeSelector no longer matching rejects", map[string]string{"disk": "hdd"}, tolerateMaint, RejectNodeAffinity},
		{"matching nodeSelector admits", map[string]string{"disk": "ssd"}, tolerateMaint, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1", NodeSelector: tt.selector, Tolerations: tt.tolerations}}
			if diff := cmp.Diff(tt.want, admit(pod, node).Reason); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProbeCounter(t *testing.T) {
	probe := &corev1.Probe{SuccessThreshold: 2, FailureThreshold: 3}
	tests := []struct {
		name     string
		kind     probeKind
		outcomes []bool
		want     []bool // Result after each outcome
	}{
		{"readiness needs successThreshold successes", readiness, []bool{true, true, false, false, false},
			[]bool{false, true, true, true, false}},
		{"liveness fails after failureThreshold failures in a row", liveness, []bool{false, false, true, false, false, false},
			[]bool{true, true, true, true, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newProbeCounter(tt.kind)
			var got []bool
			for _, ok := range tt.outcomes {
				c.observe(ok, probe)
				got = append(got, c.Result)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProbeSchedule(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &corev1.Probe{InitialDelaySeconds: 5, PeriodSeconds: 3}
	got := []time.Duration{probeSchedule(p, start, start), probeSchedule(p, start, start.Add(4*time.Second)), probeSchedule(p, start, start.Add(6*time.Second))}
	if diff := cmp.Diff([]time.Duration{5 * time.Second, time.Second, 3 * time.Second}, got); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}
