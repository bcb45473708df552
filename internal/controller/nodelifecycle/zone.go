package nodelifecycle

import (
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// LabelExcludeDisruption keeps a node out of zone health (R67).
const LabelExcludeDisruption = "node.kubernetes.io/exclude-disruption"

// ZoneState is the health of a zone (R67).
type ZoneState string

// Zone states, as upstream.
const (
	StateInitial           ZoneState = "Initial"
	StateNormal            ZoneState = "Normal"
	StatePartialDisruption ZoneState = "PartialDisruption"
	StateFullDisruption    ZoneState = "FullDisruption"
)

// ZoneKey names the zone of a node from its region and zone labels (the
// deprecated failure-domain labels as fallback); "" when it has neither.
func ZoneKey(node *corev1.Node) string {
	region := label(node, corev1.LabelTopologyRegion, corev1.LabelFailureDomainBetaRegion)
	zone := label(node, corev1.LabelTopologyZone, corev1.LabelFailureDomainBetaZone)
	if region == "" && zone == "" {
		return ""
	}
	// The NUL cannot appear in a label value, so keys cannot collide.
	return region + ":\x00:" + zone
}

func label(node *corev1.Node, key, fallback string) string {
	if v, ok := node.Labels[key]; ok {
		return v
	}
	return node.Labels[fallback]
}

// ExcludedFromDisruption reports whether the node is left out of zone
// health (R67).
func ExcludedFromDisruption(node *corev1.Node) bool {
	_, ok := node.Labels[LabelExcludeDisruption]
	return ok
}

// ComputeZoneState classifies a zone from the Ready conditions of its
// nodes (nil: never posted, counts as not ready) and returns how many
// nodes are not ready (R67).
func ComputeZoneState(ready []*corev1.NodeCondition, unhealthyThreshold float64) (int, ZoneState) {
	readyNodes, notReady := 0, 0
	for _, c := range ready {
		if c != nil && c.Status == corev1.ConditionTrue {
			readyNodes++
		} else {
			notReady++
		}
	}
	switch {
	case readyNodes == 0 && notReady > 0:
		return notReady, StateFullDisruption
	case notReady > 2 && float64(notReady)/float64(notReady+readyNodes) >= unhealthyThreshold:
		return notReady, StatePartialDisruption
	default:
		return notReady, StateNormal
	}
}

// Rates holds the eviction tunables of R67.
type Rates struct {
	Primary            float64
	Secondary          float64
	LargeClusterSize   int
	UnhealthyThreshold float64
}

// For returns the NoExecute tainting rate of a zone of size nodes in
// state: partial disruption slows down (large zones) or stops (small
// zones); full disruption of one zone keeps the normal rate.
func (r Rates) For(state ZoneState, size int) float64 {
	if state == StatePartialDisruption {
		if size > r.LargeClusterSize {
			return r.Secondary
		}
		return 0
	}
	return r.Primary
}

// DisruptionPlan is what to do after a monitor pass given zone health.
type DisruptionPlan struct {
	// States are the zone states to remember.
	States map[string]ZoneState
	// Rates are the zones whose tainting rate changes, and the new rate.
	Rates map[string]float64
	// MarkAllReachable: every zone just became fully disrupted, so the
	// master is more likely cut off than the nodes: remove NoExecute
	// taints from all nodes (and Rates stops all tainting).
	MarkAllReachable bool
	// ResetProbes: leaving that mode, every node gets a fresh grace
	// period.
	ResetProbes bool
}

// PlanDisruption compares the zone states of the last pass with the
// health just observed (zone → Ready conditions) (R67).
func PlanDisruption(prev map[string]ZoneState, zones map[string][]*corev1.NodeCondition, rates Rates) DisruptionPlan {
	plan := DisruptionPlan{States: map[string]ZoneState{}, Rates: map[string]float64{}}
	newStates := map[string]ZoneState{}
	allAre := true
	for zone, conds := range zones {
		_, st := ComputeZoneState(conds, rates.UnhealthyThreshold)
		newStates[zone] = st
		if st != StateFullDisruption {
			allAre = false
		}
		plan.States[zone] = StateInitial
		if old, ok := prev[zone]; ok {
			plan.States[zone] = old
		}
	}
	// Zones without nodes are forgotten: plan.States holds only zones
	// seen in this pass.
	allWere := true
	for _, st := range plan.States {
		if st != StateFullDisruption {
			allWere = false
		}
	}
	if allAre && allWere {
		return plan
	}
	switch {
	case allAre:
		plan.MarkAllReachable = true
		for zone := range plan.States {
			plan.States[zone] = StateFullDisruption
			plan.Rates[zone] = 0
		}
	case allWere:
		plan.ResetProbes = true
		for zone := range plan.States {
			plan.States[zone] = newStates[zone]
			plan.Rates[zone] = rates.For(newStates[zone], len(zones[zone]))
		}
	default:
		for zone, old := range plan.States {
			if old == newStates[zone] {
				continue
			}
			plan.States[zone] = newStates[zone]
			plan.Rates[zone] = rates.For(newStates[zone], len(zones[zone]))
		}
	}
	return plan
}

// TokenBucket is a rate limiter on an injected time: capacity Burst,
// refilled at QPS tokens per second, full when created. QPS ≤ 0 never
// accepts.
type TokenBucket struct {
	QPS    float64
	Burst  int
	tokens float64
	last   time.Time
}

// NewTokenBucket returns a full bucket.
func NewTokenBucket(qps float64, burst int, now time.Time) *TokenBucket {
	return &TokenBucket{QPS: qps, Burst: burst, tokens: float64(burst), last: now}
}

// TryAccept takes a token if one is available at now.
func (b *TokenBucket) TryAccept(now time.Time) bool {
	if b.QPS <= 0 {
		return false
	}
	if now.After(b.last) {
		b.tokens += now.Sub(b.last).Seconds() * b.QPS
		if b.tokens > float64(b.Burst) {
			b.tokens = float64(b.Burst)
		}
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// taintQueue is one zone's queue of nodes waiting for a NoExecute taint,
// first in first out, drained at the zone's rate (R65, R67). A node stays
// a member after it has been tainted, so that later passes do not queue it
// again, until remove is called (it became Ready, or its taint went away).
type taintQueue struct {
	limiter *TokenBucket
	members map[string]bool
	items   []queued
}

type queued struct {
	name      string
	processAt time.Time
}

func newTaintQueue(qps float64, now time.Time) *taintQueue {
	return &taintQueue{limiter: NewTokenBucket(qps, evictionBurst, now), members: map[string]bool{}}
}

// add queues name unless it is a member already; reports whether it was
// added.
func (q *taintQueue) add(name string, now time.Time) bool {
	if q.members[name] {
		return false
	}
	q.members[name] = true
	q.items = append(q.items, queued{name: name, processAt: now})
	return true
}

// remove forgets name entirely; reports whether it was a member.
func (q *taintQueue) remove(name string) bool {
	was := q.members[name]
	delete(q.members, name)
	q.items = slices.DeleteFunc(q.items, func(it queued) bool { return it.name == name })
	return was
}

// setRate swaps the limiter for a full one at qps, unless the rate is
// unchanged.
func (q *taintQueue) setRate(qps float64, now time.Time) {
	if q.limiter.QPS == qps {
		return
	}
	q.limiter = NewTokenBucket(qps, evictionBurst, now)
}

// try hands due nodes to fn while the limiter allows; fn says whether
// the node is done, or to retry after a delay.
func (q *taintQueue) try(now time.Time, fn func(name string) (done bool, retryAfter time.Duration)) {
	for len(q.items) > 0 {
		head := q.items[0]
		if now.Before(head.processAt) || !q.limiter.TryAccept(now) {
			return
		}
		q.items = q.items[1:]
		if done, wait := fn(head.name); !done {
			head.processAt = now.Add(wait + time.Nanosecond)
			q.items = append(q.items, head)
			sort.SliceStable(q.items, func(i, j int) bool { return q.items[i].processAt.Before(q.items[j].processAt) })
		}
	}
}
