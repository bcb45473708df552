package admission

import (
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// NodeRestriction limits what a node's credential may write, given the
// objects, as upstream's NodeRestriction admission plugin: a node creates and
// changes only its own Node (but not its taints once registered) and Lease,
// and changes or deletes only pods bound to it. op is "create", "update" or
// "delete"; sub is the subresource; old is nil on create. It returns a
// message when the request is forbidden.
func NodeRestriction(node, op, sub string, obj, old runtime.Object) (string, bool) {
	switch o := firstNonNil(obj, old).(type) {
	case *corev1.Node:
		if o.Name != node {
			return fmt.Sprintf("node '%s' cannot modify node '%s'", node, o.Name), false
		}
		if op == "update" && sub == "" {
			n, prev := obj.(*corev1.Node), old.(*corev1.Node)
			if !apiequality.Semantic.DeepEqual(n.Spec.Taints, prev.Spec.Taints) {
				return fmt.Sprintf("node '%s' is not allowed to modify taints", node), false
			}
		}
	case *coordinationv1.Lease:
		if o.Namespace != corev1.NamespaceNodeLease || o.Name != node {
			return fmt.Sprintf("node '%s' cannot modify lease %s/%s", node, o.Namespace, o.Name), false
		}
	case *corev1.Pod:
		if op == "create" {
			return fmt.Sprintf("node '%s' can not create pods", node), false
		}
		bound := old.(*corev1.Pod).Spec.NodeName
		if bound != node {
			verb := "update pod status"
			if op == "delete" {
				verb = "delete pods"
			}
			return fmt.Sprintf("node '%s' can only %s for pods with spec.nodeName set to itself", node, verb), false
		}
		if op == "update" && sub == "" {
			return fmt.Sprintf("node '%s' can only update pod status", node), false
		}
	}
	return "", true
}

func firstNonNil(objs ...runtime.Object) runtime.Object {
	for _, o := range objs {
		if o != nil {
			return o
		}
	}
	return nil
}
