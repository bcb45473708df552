package garbagecollector

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// ownerIndex indexes every watched object by the UIDs of its owners. The
// name is ours so that other controllers sharing the informers keep theirs.
const ownerIndex = "garbagecollector.everynode.io/owner-uid"

// typedClient is the part of a typed client-go client the collector uses;
// every generated client of the served kinds satisfies it.
type typedClient[T any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}

// resource is one served kind: how to recognise it in ownerReferences, its
// cache, and live reads and writes through the typed client.
type resource struct {
	name       string // plural, as in the REST path
	groupKind  schema.GroupKind
	namespaced bool
	informer   cache.SharedIndexInformer
	get        func(ctx context.Context, ns, name string) (metav1.Object, error)
	delete     func(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error
	patch      func(ctx context.Context, ns, name string, pt types.PatchType, data []byte) error
}

func newResource[T any](name string, gk schema.GroupKind, namespaced bool, inf cache.SharedIndexInformer, client func(ns string) typedClient[T]) *resource {
	return &resource{
		name: name, groupKind: gk, namespaced: namespaced, informer: inf,
		get: func(ctx context.Context, ns, n string) (metav1.Object, error) {
			obj, err := client(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return meta.Accessor(obj)
		},
		delete: func(ctx context.Context, ns, n string, opts metav1.DeleteOptions) error {
			return client(ns).Delete(ctx, n, opts)
		},
		patch: func(ctx context.Context, ns, n string, pt types.PatchType, data []byte) error {
			_, err := client(ns).Patch(ctx, n, pt, data, metav1.PatchOptions{})
			return err
		},
	}
}

// servedResources lists the kinds everynode serves, with their informers
// from the shared factory.
func servedResources(cs kubernetes.Interface, f informers.SharedInformerFactory) []*resource {
	return []*resource{
		newResource("pods", schema.GroupKind{Kind: "Pod"}, true, f.Core().V1().Pods().Informer(),
			func(ns string) typedClient[*corev1.Pod] { return cs.CoreV1().Pods(ns) }),
		newResource("daemonsets", schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, true, f.Apps().V1().DaemonSets().Informer(),
			func(ns string) typedClient[*appsv1.DaemonSet] { return cs.AppsV1().DaemonSets(ns) }),
		newResource("controllerrevisions", schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}, true, f.Apps().V1().ControllerRevisions().Informer(),
			func(ns string) typedClient[*appsv1.ControllerRevision] { return cs.AppsV1().ControllerRevisions(ns) }),
		newResource("events", schema.GroupKind{Kind: "Event"}, true, f.Core().V1().Events().Informer(),
			func(ns string) typedClient[*corev1.Event] { return cs.CoreV1().Events(ns) }),
		newResource("leases", schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, true, f.Coordination().V1().Leases().Informer(),
			func(ns string) typedClient[*coordinationv1.Lease] { return cs.CoordinationV1().Leases(ns) }),
		newResource("nodes", schema.GroupKind{Kind: "Node"}, false, f.Core().V1().Nodes().Informer(),
			func(string) typedClient[*corev1.Node] { return cs.CoreV1().Nodes() }),
		newResource("namespaces", schema.GroupKind{Kind: "Namespace"}, false, f.Core().V1().Namespaces().Informer(),
			func(string) typedClient[*corev1.Namespace] { return cs.CoreV1().Namespaces() }),
	}
}

// ownerUIDs is the ownerIndex function.
func ownerUIDs(obj any) ([]string, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("index owners: %w", err)
	}
	refs := m.GetOwnerReferences()
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, string(r.UID))
	}
	return out, nil
}

// groupKindOf maps an ownerReference to the group and kind it names. Events
// are served under two groups from one storage, so both names resolve to
// the core kind.
func groupKindOf(ref metav1.OwnerReference) (schema.GroupKind, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return schema.GroupKind{}, fmt.Errorf("parse apiVersion %q of owner %s: %w", ref.APIVersion, ref.Name, err)
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: ref.Kind}
	if gk == (schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}) {
		gk.Group = ""
	}
	return gk, nil
}
