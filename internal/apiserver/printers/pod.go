package printers

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// nodeUnreachablePodReason is the pod status reason the node lifecycle
// controller sets when the pod's node stopped reporting.
const nodeUnreachablePodReason = "NodeLost"

func podColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Ready", Type: "string", Description: "The aggregate readiness state of this pod for accepting traffic."},
		{Name: "Status", Type: "string", Description: "The aggregate status of the containers in this pod."},
		{Name: "Restarts", Type: "string", Description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
		ageColumn(),
		{Name: "IP", Type: "string", Priority: 1, Description: corev1.PodStatus{}.SwaggerDoc()["podIP"]},
		{Name: "Node", Type: "string", Priority: 1, Description: corev1.PodSpec{}.SwaggerDoc()["nodeName"]},
		{Name: "Nominated Node", Type: "string", Priority: 1, Description: corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]},
		{Name: "Readiness Gates", Type: "string", Priority: 1, Description: corev1.PodSpec{}.SwaggerDoc()["readinessGates"]},
	}
}

func podRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return metav1.TableRow{}, wrongType(obj, "Pod")
	}
	s := summarizePod(pod)

	restarts := strconv.Itoa(s.restarts)
	if s.restarts != 0 && !s.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.restarts, since(s.lastRestart, now))
	}

	row := metav1.TableRow{Cells: []any{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.status,
		restarts,
		since(pod.CreationTimestamp, now),
		orNone(podIP(pod)),
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		readinessGates(pod),
	}}
	// Clients use these to recognise finished pods; upstream derives them
	// from the phase alone.
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		row.Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
	case corev1.PodFailed:
		row.Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodFailed), Message: "The pod failed."}}
	}
	return row, nil
}

// podSummary is what the READY, STATUS and RESTARTS cells are made of.
type podSummary struct {
	ready, total int
	status       string
	restarts     int
	lastRestart  metav1.Time
}

// summarizePod derives the aggregate pod status the way upstream's printer
// does. The order of the steps matters, later ones overriding earlier ones:
//
//  1. the phase, replaced by status.reason when set, and by SchedulingGated
//     while scheduling gates hold the pod;
//  2. the first init container that has not finished ("Init:x/y",
//     "Init:<reason>"); sidecars (restartable init containers) that started
//     count as finished and towards READY;
//  3. once initialized, the last app container (in status order) with a
//     waiting or terminated reason; "Completed" turns back into Running or
//     NotReady while some container still runs, or into the reason of a
//     container that failed;
//  4. a deletionTimestamp makes a non-terminal pod "Terminating", or
//     "Unknown" when its node was lost.
func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{total: len(pod.Spec.Containers)}
	phase := pod.Status.Phase

	s.status = string(phase)
	if pod.Status.Reason != "" {
		s.status = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			s.status = corev1.PodReasonSchedulingGated
		}
	}

	initContainers := make(map[string]*corev1.Container, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		initContainers[c.Name] = c
		if isSidecar(c) {
			s.total++
		}
	}

	// Restarts count every init container while the pod initializes, but only
	// sidecars afterwards: a regular init container's restarts are history
	// once it has succeeded.
	var sidecarRestarts int
	var lastSidecarRestart metav1.Time
	initializing := false
	for i := range pod.Status.InitContainerStatuses {
		cs := &pod.Status.InitContainerStatuses[i]
		s.restarts += int(cs.RestartCount)
		noteLastRestart(&s.lastRestart, cs)
		sidecar := isSidecar(initContainers[cs.Name])
		if sidecar {
			sidecarRestarts += int(cs.RestartCount)
			noteLastRestart(&lastSidecarRestart, cs)
		}

		term, wait := cs.State.Terminated, cs.State.Waiting
		switch {
		case term != nil && term.ExitCode == 0:
			continue
		case sidecar && cs.Started != nil && *cs.Started:
			if cs.Ready {
				s.ready++
			}
			continue
		case term != nil:
			switch {
			case term.Reason != "":
				s.status = "Init:" + term.Reason
			case term.Signal != 0:
				s.status = fmt.Sprintf("Init:Signal:%d", term.Signal)
			default:
				s.status = fmt.Sprintf("Init:ExitCode:%d", term.ExitCode)
			}
		case wait != nil && wait.Reason != "" && wait.Reason != "PodInitializing":
			s.status = "Init:" + wait.Reason
		default:
			s.status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}

	if !initializing || podConditionTrue(pod, corev1.PodInitialized) {
		s.restarts = sidecarRestarts
		s.lastRestart = lastSidecarRestart
		hasRunning := false
		errorReason := ""
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := &pod.Status.ContainerStatuses[i]
			s.restarts += int(cs.RestartCount)
			noteLastRestart(&s.lastRestart, cs)

			term, wait := cs.State.Terminated, cs.State.Waiting
			switch {
			case wait != nil && wait.Reason != "":
				s.status = wait.Reason
			case term != nil:
				switch {
				case term.Reason != "":
					s.status = term.Reason
				case term.Signal != 0:
					s.status = fmt.Sprintf("Signal:%d", term.Signal)
				default:
					s.status = fmt.Sprintf("ExitCode:%d", term.ExitCode)
				}
				if term.ExitCode != 0 {
					errorReason = s.status
				}
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
				s.ready++
			}
		}

		// The first container listed may have completed while others still
		// run or have failed; "Completed" would then hide what matters.
		if s.status == "Completed" {
			switch {
			case hasRunning && podConditionTrue(pod, corev1.PodReady):
				s.status = "Running"
			case errorReason != "":
				s.status = errorReason
			case hasRunning:
				s.status = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil {
		switch {
		case pod.Status.Reason == nodeUnreachablePodReason:
			s.status = "Unknown"
		case phase != corev1.PodSucceeded && phase != corev1.PodFailed:
			s.status = "Terminating"
		}
	}
	return s
}

// noteLastRestart moves *last forward to the end of cs's previous run.
func noteLastRestart(last *metav1.Time, cs *corev1.ContainerStatus) {
	if t := cs.LastTerminationState.Terminated; t != nil && last.Before(&t.FinishedAt) {
		*last = t.FinishedAt
	}
}

// isSidecar reports whether an init container keeps running alongside the
// app containers (restartPolicy Always).
func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func podConditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podIP is the pod's primary IP. Upstream prints podIPs[0] of the internal
// object, which v1→internal conversion fills from podIP when podIPs is empty.
func podIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return pod.Status.PodIP
}

// readinessGates renders "true gates/all gates", or <none> without gates.
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	trueGates := 0
	for _, g := range pod.Spec.ReadinessGates {
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType {
				if c.Status == corev1.ConditionTrue {
					trueGates++
				}
				break
			}
		}
	}
	return fmt.Sprintf("%d/%d", trueGates, len(pod.Spec.ReadinessGates))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
