package agent

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/everynode/everynode/internal/agent/runner"
)

// statusBuilder assembles a pod's status from the planner's per-container
// verdicts.
type statusBuilder struct {
	s       podSnapshot
	old     map[string]*corev1.ContainerStatus
	oldInit map[string]*corev1.ContainerStatus
	init_   []corev1.ContainerStatus
	app_    []corev1.ContainerStatus
}

func newStatusBuilder(s podSnapshot) *statusBuilder {
	b := &statusBuilder{s: s, old: map[string]*corev1.ContainerStatus{}, oldInit: map[string]*corev1.ContainerStatus{}}
	for i := range s.Pod.Status.ContainerStatuses {
		cs := &s.Pod.Status.ContainerStatuses[i]
		b.old[cs.Name] = cs
	}
	for i := range s.Pod.Status.InitContainerStatuses {
		cs := &s.Pod.Status.InitContainerStatuses[i]
		b.oldInit[cs.Name] = cs
	}
	return b
}

func (b *statusBuilder) init(c *corev1.Container, a attempts, waiting *corev1.ContainerStateWaiting) {
	b.init_ = append(b.init_, b.container(c, a, waiting, b.oldInit[c.Name]))
}

func (b *statusBuilder) app(c *corev1.Container, a attempts, waiting *corev1.ContainerStateWaiting) {
	b.app_ = append(b.app_, b.container(c, a, waiting, b.old[c.Name]))
}

// container is one container's status. waiting, when set, overrides what
// the runner observed (the container is about to start or backing off).
func (b *statusBuilder) container(c *corev1.Container, a attempts, waiting *corev1.ContainerStateWaiting, old *corev1.ContainerStatus) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{
		Name: c.Name, Image: c.Image, ImageID: c.Image,
		RestartCount: int32(restartCount(a, old)),
		Started:      new(false),
	}
	cur := a.Current
	switch {
	case cur == nil && waiting == nil && old != nil:
		// The runner forgot the container (or the pod has not been
		// synced by this agent yet): keep what was reported.
		return *old.DeepCopy()
	case cur == nil:
		if waiting == nil {
			waiting = &corev1.ContainerStateWaiting{Reason: reasonContainerCreating}
		}
		cs.State.Waiting = waiting
		if old != nil {
			cs.LastTerminationState = old.LastTerminationState
		}
		return cs
	}
	cs.ContainerID = b.containerID(cur.ID)
	switch {
	case waiting != nil && cur.State.Exited:
		cs.State.Waiting = waiting
		cs.LastTerminationState.Terminated = b.terminated(cur)
		return cs
	case cur.State.Running:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: rfcTime(cur.State.StartedAt)}
		ps, ok := b.s.Probes[cur.ID]
		if !ok {
			ps = defaultProbeStatus(c)
		}
		cs.Started = new(ps.Started)
		cs.Ready = ps.Started && ps.Ready
	case cur.State.Exited:
		cs.State.Terminated = b.terminated(cur)
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reasonContainerCreating}
	}
	if a.Previous != nil && a.Previous.State.Exited {
		cs.LastTerminationState.Terminated = b.terminated(a.Previous)
	}
	return cs
}

func (b *statusBuilder) containerID(id runner.ID) string {
	return b.s.RuntimeName + "://" + string(id)
}

func (b *statusBuilder) terminated(c *runner.Container) *corev1.ContainerStateTerminated {
	reason := c.State.Reason
	if reason == "" {
		reason = reasonError
		if c.State.ExitCode == 0 {
			reason = reasonCompleted
		}
	}
	return &corev1.ContainerStateTerminated{
		ExitCode: int32(c.State.ExitCode), Reason: reason, Message: c.State.Message,
		StartedAt: rfcTime(c.State.StartedAt), FinishedAt: rfcTime(c.State.FinishedAt),
		ContainerID: b.containerID(c.ID),
	}
}

// build assembles the pod status. terminating means nothing of the pod runs
// any more and the pod is being deleted: the phase becomes terminal.
func (b *statusBuilder) build(initDone, initFailed, terminated bool) corev1.PodStatus {
	pod := b.s.Pod
	now := rfcTime(b.s.Now)
	st := corev1.PodStatus{
		HostIP:                b.s.HostIP,
		PodIP:                 b.s.HostIP,
		StartTime:             pod.Status.StartTime,
		QOSClass:              pod.Status.QOSClass,
		InitContainerStatuses: b.init_,
		ContainerStatuses:     b.app_,
	}
	if b.s.HostIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: b.s.HostIP}}
		st.PodIPs = []corev1.PodIP{{IP: b.s.HostIP}}
	}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	st.Phase = podPhase(pod.Spec.RestartPolicy, b.app_, initDone, initFailed, terminated)
	terminal := st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed

	var conds []corev1.PodCondition
	add := func(t corev1.PodConditionType, ok bool, reason, msg string) {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c = corev1.PodCondition{Type: t, Status: corev1.ConditionTrue}
		}
		c.LastTransitionTime = now
		for _, o := range pod.Status.Conditions {
			if o.Type == t && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		conds = append(conds, c)
	}
	add(corev1.PodReadyToStartContainers, !terminated, "", "")
	if notInit := unfinished(pod.Spec.InitContainers, b.init_); initDone || len(notInit) == 0 {
		add(corev1.PodInitialized, true, "", "")
	} else {
		add(corev1.PodInitialized, false, "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: %v", notInit))
	}
	var unready []string
	for _, cs := range b.app_ {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	switch {
	case terminal:
		add(corev1.PodReady, false, "PodCompleted", "")
		add(corev1.ContainersReady, false, "PodCompleted", "")
	case len(unready) > 0:
		msg := fmt.Sprintf("containers with unready status: %v", unready)
		add(corev1.PodReady, false, "ContainersNotReady", msg)
		add(corev1.ContainersReady, false, "ContainersNotReady", msg)
	default:
		add(corev1.PodReady, true, "", "")
		add(corev1.ContainersReady, true, "", "")
	}
	mine := map[corev1.PodConditionType]bool{}
	for _, c := range conds {
		mine[c.Type] = true
	}
	for _, o := range pod.Status.Conditions {
		if !mine[o.Type] {
			conds = append(conds, o)
		}
	}
	st.Conditions = conds
	return st
}

// unfinished names the init containers that have not completed.
func unfinished(spec []corev1.Container, statuses []corev1.ContainerStatus) []string {
	var out []string
	for i, c := range spec {
		if i >= len(statuses) || statuses[i].State.Terminated == nil || statuses[i].State.Terminated.ExitCode != 0 {
			out = append(out, c.Name)
		}
	}
	return out
}

// podPhase is the kubelet's phase rule over the app containers' statuses.
func podPhase(policy corev1.RestartPolicy, statuses []corev1.ContainerStatus, initDone, initFailed, terminated bool) corev1.PodPhase {
	if initFailed {
		return corev1.PodFailed
	}
	var running, waiting, stopped, succeeded int
	for _, cs := range statuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case terminated:
		// A deleted pod whose containers all stopped ends terminal, as
		// the kubelet reports before the final delete.
		if stopped == succeeded && waiting == 0 {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	case !initDone:
		return corev1.PodPending
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0:
		switch {
		case policy == corev1.RestartPolicyAlways:
			return corev1.PodRunning
		case stopped == succeeded:
			return corev1.PodSucceeded
		case policy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

// rfcTime is t as the API stores it (whole seconds), so that comparing a
// computed status with a stored one does not see phantom changes.
func rfcTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t).Rfc3339Copy()
}
