package tainteviction

import (
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/everynode/everynode/internal/placement"
)

// Action is what the controller does with one pod.
type Action string

// Actions of a Decision.
const (
	// Nothing: no NoExecute taint concerns the pod and nothing is scheduled.
	Nothing Action = "Nothing"
	// Cancel a scheduled deletion: the taints are gone or tolerated forever.
	Cancel Action = "Cancel"
	// DeleteNow: a taint is not tolerated, a toleration allows no time, or
	// the scheduled time has come.
	DeleteNow Action = "DeleteNow"
	// Schedule the deletion at Decision.At.
	Schedule Action = "Schedule"
	// Keep the deletion already scheduled; its time does not move (R72).
	Keep Action = "Keep"
)

// Reasons explain a Decision in logs.
const (
	ReasonNoTaints           = "NoNoExecuteTaints"
	ReasonUntolerated        = "UntoleratedTaint"
	ReasonToleratedForever   = "ToleratedForever"
	ReasonNoTolerationTime   = "TolerationSecondsNotPositive"
	ReasonTolerationExpired  = "TolerationSecondsExpired"
	ReasonTolerationSeconds  = "TolerationSeconds"
	ReasonAlreadyScheduledAt = "AlreadyScheduled"
)

// Pending is a deletion scheduled earlier.
type Pending struct {
	// Since is when the controller first saw the pod on the tainted node.
	Since time.Time
	// At is when the pod is to be deleted.
	At time.Time
}

// Decision is the verdict for one pod at one instant.
type Decision struct {
	Action Action
	// At is the deletion time for Schedule and Keep.
	At time.Time
	// Taint is the untolerated taint for ReasonUntolerated.
	Taint  *corev1.Taint
	Reason string
}

// Decide says what to do with a pod whose node has taints, given its
// tolerations, the current time and the deletion already scheduled for it,
// if any (R70–R73).
func Decide(taints []corev1.Taint, tolerations []corev1.Toleration, now time.Time, pending *Pending) Decision {
	var noExecute []corev1.Taint
	for _, t := range taints {
		if placement.NoExecute(&t) {
			noExecute = append(noExecute, t)
		}
	}
	if len(noExecute) == 0 {
		return cancelOrNothing(pending, ReasonNoTaints)
	}
	if taint, found := placement.FindUntoleratedTaint(noExecute, tolerations, nil); found {
		return Decision{Action: DeleteNow, Taint: &taint, Reason: ReasonUntolerated}
	}
	timeout, forever := MinTolerationTime(UsedTolerations(noExecute, tolerations))
	switch {
	case forever:
		return cancelOrNothing(pending, ReasonToleratedForever)
	case timeout <= 0:
		return Decision{Action: DeleteNow, Reason: ReasonNoTolerationTime}
	case pending != nil && !now.Before(pending.At):
		return Decision{Action: DeleteNow, Reason: ReasonTolerationExpired}
	case pending != nil:
		// Upstream keeps the first timer as long as the timeout stays
		// finite, even when the new minimum would fire earlier or later.
		return Decision{Action: Keep, At: pending.At, Reason: ReasonAlreadyScheduledAt}
	default:
		return Decision{Action: Schedule, At: now.Add(timeout), Reason: ReasonTolerationSeconds}
	}
}

func cancelOrNothing(pending *Pending, reason string) Decision {
	if pending != nil {
		return Decision{Action: Cancel, Reason: reason}
	}
	return Decision{Action: Nothing, Reason: reason}
}

// UsedTolerations returns, for each taint, the first toleration in list
// order that tolerates it (R73). Taints nobody tolerates contribute nothing.
func UsedTolerations(taints []corev1.Taint, tolerations []corev1.Toleration) []corev1.Toleration {
	var used []corev1.Toleration
	for _, taint := range taints {
		for _, tol := range tolerations {
			if placement.ToleratesTaint(tol, taint) {
				used = append(used, tol)
				break
			}
		}
	}
	return used
}

// MinTolerationTime returns the smallest tolerationSeconds among used, or
// forever when none of them bounds the time (R71). A value ≤ 0 means now.
func MinTolerationTime(used []corev1.Toleration) (timeout time.Duration, forever bool) {
	forever = true
	for _, tol := range used {
		if tol.TolerationSeconds == nil {
			continue
		}
		d := seconds(*tol.TolerationSeconds)
		if forever || d < timeout {
			timeout, forever = d, false
		}
	}
	return timeout, forever
}

// seconds converts tolerationSeconds, clamping values that overflow a
// Duration (about 292 years) and treating non-positive values as zero.
func seconds(s int64) time.Duration {
	switch {
	case s <= 0:
		return 0
	case s > int64(math.MaxInt64/time.Second):
		return math.MaxInt64
	default:
		return time.Duration(s) * time.Second
	}
}
