package scheduler

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/everynode/everynode/internal/placement"
)

// Filter reasons, worded as upstream kube-scheduler 1.37 words them, because
// users paste them into search engines and tools parse them.
const (
	// ReasonNodeUnschedulable: spec.unschedulable (cordon) and the pod does
	// not tolerate node.kubernetes.io/unschedulable:NoSchedule.
	ReasonNodeUnschedulable = "node(s) were unschedulable"
	// ReasonUntoleratedTaint: an untolerated NoSchedule or NoExecute taint
	// (R24). Since 1.35 upstream no longer names the taint in pod status (taint
	// values may be sensitive); NodeStatus.Detail does, for logs (D3).
	ReasonUntoleratedTaint = "node(s) had untolerated taint(s)"
	// ReasonNodeAffinity: spec.nodeSelector or required node affinity fails.
	ReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector"
	// ReasonPinnedElsewhere: the pod's required node affinity names nodes by
	// metadata.name and this node is not one of them (a daemon pod meant for
	// another node). Upstream's NodeAffinity PreFilter drops such nodes
	// before filtering and reports them with this message.
	ReasonPinnedElsewhere = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
	// ReasonHostPorts: a requested hostPort is taken on the node.
	ReasonHostPorts = "node(s) didn't have free ports for the requested pod ports"
	// ReasonTooManyPods: the node already holds status.allocatable.pods pods.
	ReasonTooManyPods = "Too many pods"
	// ReasonInsufficientPrefix + resource name: not enough of that resource
	// is left (allocatable minus the requests of the node's pods).
	ReasonInsufficientPrefix = "Insufficient "
)

// unschedulableTaint is what a pod must tolerate to land on a cordoned node,
// as upstream's NodeUnschedulable plugin checks.
var unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// Cluster is the snapshot a decision is made on.
type Cluster struct {
	// Nodes are all nodes of the cluster.
	Nodes []*corev1.Node
	// PodsByNode holds, per node name, the pods bound (or just bound by us)
	// to that node that are not terminal (Succeeded/Failed). Pods being
	// deleted are included: they hold their resources until they are gone.
	PodsByNode map[string][]*corev1.Pod
	// NominatedByNode holds, per node name, pending pods that preempted
	// victims there and wait for the room. A pod of lower or equal priority
	// must not take that room, so they count as occupying the node.
	NominatedByNode map[string][]*corev1.Pod
}

// NodeStatus says why one node was filtered out.
type NodeStatus struct {
	// Reasons are upstream-worded reasons, one per failed check of the
	// first failing filter (only the resources filter may give several).
	Reasons []string
	// Resolvable is true when removing pods from the node could make the
	// pod fit (resources, host ports), i.e. preemption may help.
	Resolvable bool
	// Detail is our own explanation (which taint, which selector entry,
	// how much is left), for logs and `everynode explain` (D3).
	Detail string
}

// FitError is the answer when no node fits. Its Error() is upstream's
// message: "0/N nodes are available: <count> <reason>, .... <preemption>".
type FitError struct {
	// NumAllNodes is the number of nodes considered.
	NumAllNodes int
	// Statuses holds the status of every node, by name.
	Statuses map[string]NodeStatus
	// PostFilterMsg is the preemption outcome, "preemption: ...", or empty
	// when preemption found room (the pod then waits, nominated).
	PostFilterMsg string
}

// Error renders the reasons as a histogram sorted as strings ("1 X, 2 Y"),
// exactly as upstream does, followed by the preemption message.
func (e *FitError) Error() string {
	msg := fmt.Sprintf("0/%d nodes are available:", e.NumAllNodes)
	if h := histogram(e.Statuses, func(s NodeStatus) []string { return s.Reasons }); h != "" {
		msg += " " + h + "."
	}
	if e.PostFilterMsg != "" {
		msg += " " + e.PostFilterMsg
	}
	return msg
}

// histogram counts reasons over nodes and renders "count reason" entries
// sorted as strings, comma separated.
func histogram(statuses map[string]NodeStatus, reasons func(NodeStatus) []string) string {
	counts := map[string]int{}
	for _, s := range statuses {
		for _, r := range reasons(s) {
			counts[r]++
		}
	}
	entries := make([]string, 0, len(counts))
	for r, n := range counts {
		entries = append(entries, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(entries)
	return strings.Join(entries, ", ")
}

// Schedule picks the node for pod, or explains why none fits. It filters
// every node (see filterNode), then prefers fewer untolerated
// PreferNoSchedule taints (R22), then the least allocated node (cpu and
// memory requests after placing the pod, as fractions of allocatable), then
// the smallest name, so the answer is deterministic. It does not modify its
// arguments.
func Schedule(pod *corev1.Pod, c Cluster) (string, *FitError) {
	pinned := pinnedNodes(pod)
	req := podRequests(pod)
	type candidate struct {
		name      string
		pns       int
		allocated float64
	}
	var feasible []candidate
	statuses := map[string]NodeStatus{}
	for _, node := range c.Nodes {
		if pinned != nil && !pinned.Has(node.Name) {
			statuses[node.Name] = NodeStatus{
				Reasons: []string{ReasonPinnedElsewhere},
				Detail:  "required node affinity names other nodes by metadata.name",
			}
			continue
		}
		occupying := occupants(pod, node.Name, c)
		if st, ok := filterNode(pod, req, node, occupying); !ok {
			statuses[node.Name] = st
			continue
		}
		feasible = append(feasible, candidate{
			name:      node.Name,
			pns:       placement.CountIntolerablePreferNoSchedule(node.Spec.Taints, pod.Spec.Tolerations),
			allocated: allocatedFraction(req, node, c.PodsByNode[node.Name]),
		})
	}
	if len(feasible) == 0 {
		return "", &FitError{NumAllNodes: len(c.Nodes), Statuses: statuses}
	}
	sort.Slice(feasible, func(i, j int) bool {
		a, b := feasible[i], feasible[j]
		if a.pns != b.pns {
			return a.pns < b.pns
		}
		if a.allocated != b.allocated {
			return a.allocated < b.allocated
		}
		return a.name < b.name
	})
	return feasible[0].name, nil
}

// occupants are the pods that hold room on node for pod: the node's pods and
// the pods nominated there with at least pod's priority.
func occupants(pod *corev1.Pod, node string, c Cluster) []*corev1.Pod {
	pods := c.PodsByNode[node]
	nominated := c.NominatedByNode[node]
	if len(nominated) == 0 {
		return pods
	}
	out := append([]*corev1.Pod(nil), pods...)
	for _, p := range nominated {
		if p.UID != pod.UID && priority(p) >= priority(pod) {
			out = append(out, p)
		}
	}
	return out
}

// pinnedNodes returns the node names the pod's required node affinity
// restricts it to through `metadata.name In [...]` matchFields, or nil when
// some term does not restrict by name (terms are OR-ed, so then any node may
// match). Within a term requirements are AND-ed, hence the intersection.
// This mirrors upstream's NodeAffinity PreFilter, which is what makes a
// pinned daemon pod report other nodes as "didn't satisfy plugin(s)".
func pinnedNodes(pod *corev1.Pod) sets.Set[string] {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		return nil
	}
	names := sets.New[string]()
	for _, term := range terms {
		var termNames sets.Set[string]
		for _, r := range term.MatchFields {
			if r.Key != metav1.ObjectNameField || r.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			if termNames == nil {
				termNames = sets.New(r.Values...)
			} else {
				termNames = termNames.Intersection(sets.New(r.Values...))
			}
		}
		if termNames == nil {
			return nil
		}
		names = names.Union(termNames)
	}
	return names
}

// filterNode runs the filters in upstream's default order and stops at the
// first that fails, as upstream does: NodeUnschedulable, TaintToleration,
// NodeAffinity, NodePorts, NodeResourcesFit. occupying are the pods that
// already hold resources and ports on node.
func filterNode(pod *corev1.Pod, req corev1.ResourceList, node *corev1.Node, occupying []*corev1.Pod) (NodeStatus, bool) {
	if node.Spec.Unschedulable && !toleratesUnschedulable(pod) {
		return NodeStatus{Reasons: []string{ReasonNodeUnschedulable}, Detail: "node is cordoned (spec.unschedulable)"}, false
	}
	if ok, _, msg := placement.PodToleratesNodeTaints(pod, node); !ok {
		return NodeStatus{Reasons: []string{ReasonUntoleratedTaint}, Detail: msg}, false
	}
	if ok, _, msg := placement.NodeMatchesPod(pod, node); !ok {
		return NodeStatus{Reasons: []string{ReasonNodeAffinity}, Detail: msg}, false
	}
	if conflict, ok := portConflict(pod, occupying); ok {
		return NodeStatus{Reasons: []string{ReasonHostPorts}, Resolvable: true, Detail: conflict}, false
	}
	if st, ok := fitResources(req, node, occupying); !ok {
		return st, false
	}
	return NodeStatus{}, true
}

func toleratesUnschedulable(pod *corev1.Pod) bool {
	for _, tol := range pod.Spec.Tolerations {
		if placement.ToleratesTaint(tol, unschedulableTaint) {
			return true
		}
	}
	return false
}

// hostPort identifies a host port binding; an empty or 0.0.0.0 IP binds
// every address and so conflicts with any IP.
type hostPort struct {
	ip       string
	protocol corev1.Protocol
	port     int32
}

func hostPorts(pod *corev1.Pod) []hostPort {
	var out []hostPort
	add := func(containers []corev1.Container) {
		for _, c := range containers {
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				ip := p.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				out = append(out, hostPort{ip: ip, protocol: proto, port: p.HostPort})
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

// portConflict describes the first host port of pod already used by one of
// occupying, if any.
func portConflict(pod *corev1.Pod, occupying []*corev1.Pod) (string, bool) {
	want := hostPorts(pod)
	if len(want) == 0 {
		return "", false
	}
	for _, other := range occupying {
		for _, used := range hostPorts(other) {
			for _, w := range want {
				if w.port != used.port || w.protocol != used.protocol {
					continue
				}
				if w.ip == "0.0.0.0" || used.ip == "0.0.0.0" || w.ip == used.ip {
					return fmt.Sprintf("host port %s/%d on %s is used by pod %s/%s", w.protocol, w.port, w.ip, other.Namespace, other.Name), true
				}
			}
		}
	}
	return "", false
}

// podRequests is what the pod asks for: the larger of its init containers
// and the sum of its containers (sidecars counted), plus overhead, as
// upstream computes it.
func podRequests(pod *corev1.Pod) corev1.ResourceList {
	return resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
}

// amount reads a quantity in the unit the scheduler compares it in:
// millicores for cpu, plain units for everything else.
func amount(list corev1.ResourceList, name corev1.ResourceName) int64 {
	q, ok := list[name]
	if !ok {
		return 0
	}
	if name == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// usedBy sums the requests of pods.
func usedBy(pods []*corev1.Pod) map[corev1.ResourceName]int64 {
	used := map[corev1.ResourceName]int64{}
	for _, p := range pods {
		r := podRequests(p)
		for name := range r {
			used[name] += amount(r, name)
		}
	}
	return used
}

// fitResources is upstream's NodeResourcesFit filter: the pod count first,
// then cpu, memory, ephemeral storage and other (extended) resources in name
// order. A request larger than the node's whole allocatable is unresolvable:
// no preemption can help.
func fitResources(req corev1.ResourceList, node *corev1.Node, occupying []*corev1.Pod) (NodeStatus, bool) {
	alloc := node.Status.Allocatable
	var st NodeStatus
	st.Resolvable = true
	var details []string
	if maxPods := amount(alloc, corev1.ResourcePods); int64(len(occupying))+1 > maxPods {
		st.Reasons = append(st.Reasons, ReasonTooManyPods)
		details = append(details, fmt.Sprintf("node holds %d pods, allocatable pods is %d", len(occupying), maxPods))
		if maxPods < 1 {
			st.Resolvable = false
		}
	}
	names := make([]corev1.ResourceName, 0, len(req))
	for name := range req {
		if name != corev1.ResourcePods {
			names = append(names, name)
		}
	}
	rank := map[corev1.ResourceName]int{corev1.ResourceCPU: 0, corev1.ResourceMemory: 1, corev1.ResourceEphemeralStorage: 2}
	sort.Slice(names, func(i, j int) bool {
		ri, iok := rank[names[i]]
		rj, jok := rank[names[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		default:
			return names[i] < names[j]
		}
	})
	used := usedBy(occupying)
	for _, name := range names {
		want := amount(req, name)
		if want <= 0 {
			continue
		}
		have := amount(alloc, name)
		if want <= have-used[name] {
			continue
		}
		st.Reasons = append(st.Reasons, ReasonInsufficientPrefix+string(name))
		details = append(details, fmt.Sprintf("%s: requested %d, allocatable %d, used %d", name, want, have, used[name]))
		if want > have {
			st.Resolvable = false
		}
	}
	if len(st.Reasons) == 0 {
		return NodeStatus{}, true
	}
	st.Detail = strings.Join(details, "; ")
	return st, false
}

// allocatedFraction is the node's cpu and memory use after placing a pod
// requesting req, as the sum of the two fractions of allocatable; lower is
// less allocated. A resource the node does not report counts as full.
func allocatedFraction(req corev1.ResourceList, node *corev1.Node, pods []*corev1.Pod) float64 {
	used := usedBy(pods)
	total := 0.0
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		have := amount(node.Status.Allocatable, name)
		if have <= 0 {
			total++
			continue
		}
		total += float64(used[name]+amount(req, name)) / float64(have)
	}
	return total
}

// priority treats a missing spec.priority as 0 (no priority admission yet).
func priority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority == nil {
		return 0
	}
	return *pod.Spec.Priority
}
