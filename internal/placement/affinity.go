package placement

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// NodeMatchesPod reports whether node satisfies the pod's spec.nodeSelector
// and required node affinity (R32). It is shared by the DaemonSet decision
// and the scheduler's node-affinity filter. Preferred node affinity, pod
// (anti-)affinity and spec.nodeName are not its business.
func NodeMatchesPod(pod *corev1.Pod, node *corev1.Node) (ok bool, reason Reason, message string) {
	return matchNode(pod.Spec.NodeSelector, pod.Spec.Affinity, node)
}

// matchNode lets component-helpers decide, so that our answer is the
// scheduler's answer, and only explains a "no" itself.
func matchNode(nodeSelector map[string]string, affinity *corev1.Affinity, node *corev1.Node) (bool, Reason, string) {
	return matchWith(nodeaffinity.NewRequiredNodeAffinity(nodeSelector, affinity), nodeSelector, affinity, node)
}

// matchWith is matchNode with the parsed affinity of nodeSelector and
// affinity given.
func matchWith(required nodeaffinity.RequiredNodeAffinity, nodeSelector map[string]string, affinity *corev1.Affinity, node *corev1.Node) (bool, Reason, string) {
	if ok, _ := required.Match(node); ok {
		return true, "", ""
	}
	if msg := explainNodeSelector(nodeSelector, node.Labels); msg != "" {
		return false, ReasonNodeSelectorMismatch, msg
	}
	return false, ReasonNodeAffinityMismatch, explainRequiredAffinity(requiredAffinity(affinity), node)
}

func requiredAffinity(affinity *corev1.Affinity) *corev1.NodeSelector {
	if affinity == nil || affinity.NodeAffinity == nil {
		return nil
	}
	return affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

// explainNodeSelector lists every nodeSelector entry the node fails, in key
// order, or returns "" when the node satisfies all of them.
func explainNodeSelector(nodeSelector map[string]string, nodeLabels map[string]string) string {
	keys := make([]string, 0, len(nodeSelector))
	for k := range nodeSelector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var fails []string
	for _, k := range keys {
		want := nodeSelector[k]
		have, ok := nodeLabels[k]
		switch {
		case !ok:
			fails = append(fails, fmt.Sprintf("%s=%s (node has no label %s)", k, want, k))
		case have != want:
			fails = append(fails, fmt.Sprintf("%s=%s (node has %s=%s)", k, want, k, have))
		}
	}
	if len(fails) == 0 {
		return ""
	}
	return "nodeSelector does not match: " + strings.Join(fails, "; ")
}

// explainRequiredAffinity says, term by term, why none of the required node
// affinity terms matches node. It is only called after the library said no.
func explainRequiredAffinity(required *corev1.NodeSelector, node *corev1.Node) string {
	if required == nil {
		// Unreachable: without required affinity the library says no only
		// for a nodeSelector mismatch, which is explained before.
		return "required node affinity does not match"
	}
	if len(required.NodeSelectorTerms) == 0 {
		return "required node affinity has no nodeSelectorTerms, so it matches no node"
	}
	parts := make([]string, 0, len(required.NodeSelectorTerms))
	for i, term := range required.NodeSelectorTerms {
		parts = append(parts, fmt.Sprintf("term %d: %s", i, explainTerm(term, node)))
	}
	msg := "required node affinity matches no nodeSelectorTerm: " + strings.Join(parts, "; ")
	// The library reports parse errors, with their field paths, only when no
	// term matches, which is exactly our case.
	if _, err := nodeaffinity.NewLazyErrorNodeSelector(required).Match(node); err != nil {
		msg += " (invalid: " + err.Error() + ")"
	}
	return msg
}

// explainTerm names the first requirement of term that is invalid or that
// node fails; requirements are AND-ed, so one is enough.
func explainTerm(term corev1.NodeSelectorTerm, node *corev1.Node) string {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return "empty term matches nothing"
	}
	for _, req := range term.MatchExpressions {
		if msg := explainRequirement(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req}}, req, node); msg != "" {
			return msg
		}
	}
	for _, req := range term.MatchFields {
		if msg := explainRequirement(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req}}, req, node); msg != "" {
			return msg
		}
	}
	// Unreachable while the library evaluates a term as the AND of its
	// requirements; kept so that a message is never empty.
	return "does not match"
}

// explainRequirement evaluates one requirement, wrapped alone in single,
// with the library and describes the failure, or returns "" if it matches.
func explainRequirement(single corev1.NodeSelectorTerm, req corev1.NodeSelectorRequirement, node *corev1.Node) string {
	ok, err := nodeaffinity.NewLazyErrorNodeSelector(&corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{single}}).Match(node)
	switch {
	case err != nil:
		return describeRequirement(req) + " is invalid, so the term matches nothing"
	case ok:
		return ""
	case len(single.MatchFields) > 0:
		return describeRequirement(req) + " does not match (" + describeField(req.Key, node) + ")"
	default:
		return describeRequirement(req) + " does not match (" + describeLabel(req.Key, node.Labels) + ")"
	}
}

func describeRequirement(req corev1.NodeSelectorRequirement) string {
	if len(req.Values) == 0 {
		return fmt.Sprintf("%s %s", req.Key, req.Operator)
	}
	return fmt.Sprintf("%s %s [%s]", req.Key, req.Operator, strings.Join(req.Values, ", "))
}

func describeLabel(key string, nodeLabels map[string]string) string {
	if v, ok := nodeLabels[key]; ok {
		return fmt.Sprintf("node has %s=%s", key, v)
	}
	return "node has no label " + key
}

func describeField(key string, node *corev1.Node) string {
	if key == metav1.ObjectNameField {
		return "node name is " + node.Name
	}
	return "node has no field " + key
}
