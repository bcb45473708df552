package daemonset

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Why a pod is created or deleted. They appear in logs and in printed plans.
const (
	ReasonNoPod                  = "NoDaemonPod"              // R38a, R97: SR and no live pod
	ReasonFailed                 = "FailedPod"                // R94
	ReasonSucceeded              = "SucceededPod"             // R94
	ReasonDuplicate              = "DuplicatePod"             // R96, R97
	ReasonShouldNotRun           = "ShouldNotContinueRunning" // R38c
	ReasonNodeGone               = "TargetNodeGone"           // R93
	ReasonSurgeOldNotReady       = "SurgeOldNotReady"         // R97
	ReasonSurgeNewAvailable      = "SurgeNewAvailable"        // R97, R118
	ReasonUpdateOldUnavailable   = "UpdateOldUnavailable"     // R113, R117
	ReasonUpdateOld              = "UpdateOld"                // R114
	ReasonSurgeReplacement       = "SurgeReplaceUnavailable"  // R117
	ReasonSurgeCandidate         = "SurgeCandidate"           // R120
	ReasonSurgeShouldNotRunSpare = "SurgeShouldNotRunSurplus" // R120
)

// Create asks for one daemon pod on Node.
type Create struct {
	Node   string
	Reason string
}

// Delete asks for one daemon pod to be deleted.
type Delete struct {
	Pod    string
	Node   string
	Reason string
}

// Event is an event the plan wants recorded on the DaemonSet.
type Event struct {
	Type    string
	Reason  string
	Message string
}

// Plan is the outcome of a pure planning step. Creates are sorted by node,
// Deletes by node then pod name, so that plans print and compare stably.
type Plan struct {
	Creates []Create
	Deletes []Delete
	Events  []Event
	// BackoffNodes are the nodes whose failed-pod backoff advances (R94).
	BackoffNodes []string
	// RequeueAfter, when positive, asks for another sync after this delay.
	RequeueAfter time.Duration
}

// HasWrites reports whether executing the plan creates or deletes a pod.
func (p Plan) HasWrites() bool { return len(p.Creates) > 0 || len(p.Deletes) > 0 }

func (p *Plan) create(node, reason string) {
	p.Creates = append(p.Creates, Create{Node: node, Reason: reason})
}

func (p *Plan) delete(pod, node, reason string) {
	p.Deletes = append(p.Deletes, Delete{Pod: pod, Node: node, Reason: reason})
}

func (p *Plan) requeue(after time.Duration) {
	if after > 0 && (p.RequeueAfter == 0 || after < p.RequeueAfter) {
		p.RequeueAfter = after
	}
}

func (p *Plan) sort() {
	sort.SliceStable(p.Creates, func(i, j int) bool { return p.Creates[i].Node < p.Creates[j].Node })
	sort.SliceStable(p.Deletes, func(i, j int) bool {
		if p.Deletes[i].Node != p.Deletes[j].Node {
			return p.Deletes[i].Node < p.Deletes[j].Node
		}
		return p.Deletes[i].Pod < p.Deletes[j].Pod
	})
}

// String prints one line per action, for logs and test failures.
func (p Plan) String() string {
	var b strings.Builder
	for _, c := range p.Creates {
		fmt.Fprintf(&b, "create on %s (%s)\n", c.Node, c.Reason)
	}
	for _, d := range p.Deletes {
		fmt.Fprintf(&b, "delete %s on %s (%s)\n", d.Pod, d.Node, d.Reason)
	}
	for _, e := range p.Events {
		fmt.Fprintf(&b, "event %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
	if p.RequeueAfter > 0 {
		fmt.Fprintf(&b, "requeue after %s\n", p.RequeueAfter)
	}
	return b.String()
}
