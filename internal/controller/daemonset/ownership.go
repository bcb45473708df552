package daemonset

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// ownership decides, per object, whether a DaemonSet keeps, adopts or
// releases it (R90, R144).
type ownership int

const (
	ignore ownership = iota // controlled by someone else, or not ours to take
	keep
	adopt
	release
)

// classifyOwnership is the pure rule of R90.
func classifyOwnership(ds *appsv1.DaemonSet, selector labels.Selector, obj metav1.Object) ownership {
	matches := selector.Matches(labels.Set(obj.GetLabels()))
	ref := metav1.GetControllerOfNoCopy(obj)
	switch {
	case ref != nil && ref.UID != ds.UID:
		return ignore
	case ref != nil && matches:
		return keep
	case ref != nil && obj.GetDeletionTimestamp() == nil:
		return release
	case ref != nil:
		return ignore
	case matches && obj.GetDeletionTimestamp() == nil && ds.DeletionTimestamp == nil:
		return adopt
	}
	return ignore
}

// claimer adopts and releases objects for one sync. The fresh read of the
// DaemonSet that guards adoption happens at most once per sync.
type claimer struct {
	c        *Controller
	ds       *appsv1.DaemonSet
	selector labels.Selector
	checked  bool
	adoptErr error
	// patched is set once a pod's ownership was changed.
	patched bool
}

func (cl *claimer) canAdopt(ctx context.Context) error {
	if cl.checked {
		return cl.adoptErr
	}
	cl.checked = true
	fresh, err := cl.c.client.AppsV1().DaemonSets(cl.ds.Namespace).Get(ctx, cl.ds.Name, metav1.GetOptions{})
	switch {
	case err != nil:
		cl.adoptErr = fmt.Errorf("re-read daemonset %s/%s before adopting: %w", cl.ds.Namespace, cl.ds.Name, err)
	case fresh.UID != cl.ds.UID:
		cl.adoptErr = fmt.Errorf("daemonset %s/%s was recreated (uid %s, cached %s)", cl.ds.Namespace, cl.ds.Name, fresh.UID, cl.ds.UID)
	case fresh.DeletionTimestamp != nil:
		cl.adoptErr = fmt.Errorf("daemonset %s/%s is being deleted", cl.ds.Namespace, cl.ds.Name)
	}
	return cl.adoptErr
}

func (cl *claimer) adoptPatch(uid types.UID) ([]byte, error) {
	return json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{controllerRef(cl.ds)},
		"uid":             uid,
	}})
}

func (cl *claimer) releasePatch(uid types.UID) ([]byte, error) {
	return json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": cl.ds.UID}},
		"uid":             uid,
	}})
}

// claimPods returns the pods the DaemonSet controls after adoption and
// release.
func (cl *claimer) claimPods(ctx context.Context, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	for _, p := range pods {
		var patch []byte
		var err error
		switch classifyOwnership(cl.ds, cl.selector, p) {
		case keep:
			out = append(out, p)
			continue
		case adopt:
			if err := cl.canAdopt(ctx); err != nil {
				continue
			}
			patch, err = cl.adoptPatch(p.UID)
		case release:
			patch, err = cl.releasePatch(p.UID)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("build ownership patch: %w", err)
		}
		updated, err := cl.c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("change ownership of pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		cl.patched = true
		if metav1.IsControlledBy(updated, cl.ds) {
			out = append(out, updated)
		}
	}
	return out, nil
}

// claimRevisions does the same for ControllerRevisions (R144).
func (cl *claimer) claimRevisions(ctx context.Context, revs []*appsv1.ControllerRevision) ([]*appsv1.ControllerRevision, error) {
	var out []*appsv1.ControllerRevision
	for _, r := range revs {
		var patch []byte
		var err error
		switch classifyOwnership(cl.ds, cl.selector, r) {
		case keep:
			out = append(out, r)
			continue
		case adopt:
			if err := cl.canAdopt(ctx); err != nil {
				continue
			}
			patch, err = cl.adoptPatch(r.UID)
		case release:
			patch, err = cl.releasePatch(r.UID)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("build ownership patch: %w", err)
		}
		updated, err := cl.c.client.AppsV1().ControllerRevisions(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("change ownership of revision %s/%s: %w", r.Namespace, r.Name, err)
		}
		if metav1.IsControlledBy(updated, cl.ds) {
			out = append(out, updated)
		}
	}
	return out, nil
}
