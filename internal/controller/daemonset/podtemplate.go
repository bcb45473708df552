package daemonset

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/everynode/everynode/internal/placement"
)

// controllerRef is the controller ownerReference a DaemonSet puts on the
// objects it owns.
func controllerRef(ds *appsv1.DaemonSet) metav1.OwnerReference {
	return *metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))
}

// newPod builds the daemon pod for node (R85–R86): the template plus
// generateName, controller reference, hash and generation labels, automatic
// tolerations and the node-name affinity that pins it.
func newPod(ds *appsv1.DaemonSet, node, hash string) *corev1.Pod {
	t := ds.Spec.Template.DeepCopy()
	labels := make(map[string]string, len(t.Labels)+2)
	for k, v := range t.Labels {
		labels[k] = v
	}
	if g := templateGeneration(ds); g != nil {
		labels[templateGenerationLabel] = fmt.Sprint(*g)
	}
	if hash != "" {
		labels[appsv1.ControllerRevisionHashLabelKey] = hash
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    ds.Name + "-",
			Namespace:       ds.Namespace,
			Labels:          labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{controllerRef(ds)},
		},
		Spec: t.Spec,
	}
	pod.Spec.Tolerations = placement.DaemonPodTolerations(t.Spec)
	// Pinned even when the template sets spec.nodeName: SR then guarantees
	// the two agree.
	placement.PinToNode(&pod.Spec, node)
	return pod
}
