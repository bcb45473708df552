package daemonset

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
)

// templateHash is the controller-revision-hash of a template (R141): FNV-1a
// over the template's JSON (encoding/json sorts map keys, so the dump is
// stable across restarts), salted with the collision count.
func templateHash(template *corev1.PodTemplateSpec, collisionCount *int32) (string, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return "", fmt.Errorf("encode pod template: %w", err)
	}
	h := fnv.New32a()
	h.Write(raw)
	if collisionCount != nil {
		var salt [4]byte
		binary.LittleEndian.PutUint32(salt[:], uint32(*collisionCount))
		h.Write(salt[:])
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32())), nil
}

// revisionData is the strategic-merge patch stored in a ControllerRevision:
// only spec.template, marked "$patch": "replace", which is what
// `kubectl rollout undo` applies back (R140).
func revisionData(ds *appsv1.DaemonSet) ([]byte, error) {
	raw, err := json.Marshal(ds)
	if err != nil {
		return nil, fmt.Errorf("encode daemonset: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("decode daemonset: %w", err)
	}
	spec, _ := obj["spec"].(map[string]any)
	template, _ := spec["template"].(map[string]any)
	if template == nil {
		template = map[string]any{}
	}
	template["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
}

// revisionSplit is the pure part of R142: which revisions carry the live
// template, the others, and the revision number the current one must have.
type revisionSplit struct {
	Current    []*appsv1.ControllerRevision // sorted by revision, highest last
	Old        []*appsv1.ControllerRevision
	NextNumber int64
}

func splitRevisions(data []byte, revs []*appsv1.ControllerRevision) revisionSplit {
	var s revisionSplit
	var maxOld int64
	for _, r := range revs {
		if bytes.Equal(r.Data.Raw, data) {
			s.Current = append(s.Current, r)
			continue
		}
		s.Old = append(s.Old, r)
		maxOld = max(maxOld, r.Revision)
	}
	sort.SliceStable(s.Current, func(i, j int) bool { return s.Current[i].Revision < s.Current[j].Revision })
	s.NextNumber = maxOld + 1
	return s
}

// planHistoryCleanup picks the old revisions to delete (R145): beyond the
// history limit, oldest first, never one whose hash a pod still carries.
func planHistoryCleanup(ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision, pods []*corev1.Pod) []string {
	limit := 10
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	excess := len(old) - limit
	if excess <= 0 {
		return nil
	}
	live := map[string]bool{}
	for _, p := range pods {
		if h := p.Labels[appsv1.ControllerRevisionHashLabelKey]; h != "" {
			live[h] = true
		}
	}
	sorted := append([]*appsv1.ControllerRevision(nil), old...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Revision < sorted[j].Revision })
	var out []string
	for _, r := range sorted {
		if excess == 0 {
			break
		}
		if live[r.Labels[appsv1.ControllerRevisionHashLabelKey]] {
			continue
		}
		out = append(out, r.Name)
		excess--
	}
	return out
}

// newRevision builds the ControllerRevision for the live template (R140).
func newRevision(ds *appsv1.DaemonSet, hash string, data []byte, number int64) *appsv1.ControllerRevision {
	labels := make(map[string]string, len(ds.Spec.Template.Labels)+1)
	for k, v := range ds.Spec.Template.Labels {
		labels[k] = v
	}
	labels[appsv1.ControllerRevisionHashLabelKey] = hash
	var annotations map[string]string
	if len(ds.Annotations) > 0 {
		annotations = make(map[string]string, len(ds.Annotations))
		for k, v := range ds.Annotations {
			annotations[k] = v
		}
	}
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            revisionName(ds.Name, hash),
			Namespace:       ds.Namespace,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{controllerRef(ds)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: number,
	}
}

// revisionName is `<ds>-<hash>`, the DaemonSet name cut so that the result
// stays a valid object name.
func revisionName(dsName, hash string) string {
	const maxPrefix = 223
	if len(dsName) > maxPrefix {
		dsName = dsName[:maxPrefix]
	}
	return dsName + "-" + hash
}

// syncRevisions reconciles the DaemonSet's revisions and returns the current
// one and the old ones (R140–R144).
func (c *Controller) syncRevisions(ctx context.Context, ds *appsv1.DaemonSet, revs []*appsv1.ControllerRevision, pods []*corev1.Pod) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, error) {
	client := c.client.AppsV1().ControllerRevisions(ds.Namespace)
	for i, r := range revs {
		if _, ok := r.Labels[appsv1.ControllerRevisionHashLabelKey]; ok {
			continue
		}
		// R144: a revision without the hash label is labelled with its name.
		u := r.DeepCopy()
		if u.Labels == nil {
			u.Labels = map[string]string{}
		}
		u.Labels[appsv1.ControllerRevisionHashLabelKey] = u.Name
		updatedRev, err := client.Update(ctx, u, metav1.UpdateOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("label revision %s/%s: %w", r.Namespace, r.Name, err)
		}
		revs[i] = updatedRev
	}
	data, err := revisionData(ds)
	if err != nil {
		return nil, nil, err
	}
	split := splitRevisions(data, revs)
	var cur *appsv1.ControllerRevision
	if len(split.Current) == 0 {
		cur, err = c.createRevision(ctx, ds, data, split.NextNumber)
		if err != nil {
			return nil, nil, err
		}
	} else {
		cur, err = c.dedupeRevisions(ctx, ds, split.Current, pods)
		if err != nil {
			return nil, nil, err
		}
		if cur.Revision < split.NextNumber {
			// R142/R148: a template that comes back moves to the front.
			u := cur.DeepCopy()
			u.Revision = split.NextNumber
			if cur, err = client.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
				return nil, nil, fmt.Errorf("renumber revision %s/%s: %w", u.Namespace, u.Name, err)
			}
		}
	}
	return cur, split.Old, nil
}

// dedupeRevisions keeps the highest of several revisions with the live
// template, moving pods over to its hash before deleting the others (R142).
func (c *Controller) dedupeRevisions(ctx context.Context, ds *appsv1.DaemonSet, current []*appsv1.ControllerRevision, pods []*corev1.Pod) (*appsv1.ControllerRevision, error) {
	keep := current[len(current)-1]
	if len(current) == 1 {
		return keep, nil
	}
	hash := keep.Labels[appsv1.ControllerRevisionHashLabelKey]
	for _, dup := range current[:len(current)-1] {
		for _, p := range pods {
			if p.Labels[appsv1.ControllerRevisionHashLabelKey] == hash {
				continue
			}
			patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, appsv1.ControllerRevisionHashLabelKey, hash)
			if _, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("relabel pod %s/%s to hash %s: %w", p.Namespace, p.Name, hash, err)
			}
		}
		if err := c.client.AppsV1().ControllerRevisions(dup.Namespace).Delete(ctx, dup.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("delete duplicate revision %s/%s: %w", dup.Namespace, dup.Name, err)
		}
	}
	return keep, nil
}

// createRevision stores a revision for the live template, handling a name
// collision by bumping status.collisionCount (R143).
func (c *Controller) createRevision(ctx context.Context, ds *appsv1.DaemonSet, data []byte, number int64) (*appsv1.ControllerRevision, error) {
	hash, err := templateHash(&ds.Spec.Template, ds.Status.CollisionCount)
	if err != nil {
		return nil, err
	}
	rev := newRevision(ds, hash, data, number)
	client := c.client.AppsV1().ControllerRevisions(ds.Namespace)
	created, err := client.Create(ctx, rev, metav1.CreateOptions{})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	existing, getErr := client.Get(ctx, rev.Name, metav1.GetOptions{})
	if getErr != nil {
		return nil, fmt.Errorf("read existing revision %s/%s: %w", rev.Namespace, rev.Name, getErr)
	}
	if bytes.Equal(existing.Data.Raw, data) && metav1.IsControlledBy(existing, ds) {
		return existing, nil
	}
	dsClient := c.client.AppsV1().DaemonSets(ds.Namespace)
	live, getErr := dsClient.Get(ctx, ds.Name, metav1.GetOptions{})
	if getErr != nil {
		return nil, fmt.Errorf("re-read daemonset %s/%s after hash collision: %w", ds.Namespace, ds.Name, getErr)
	}
	if value(live.Status.CollisionCount) != value(ds.Status.CollisionCount) || (live.Status.CollisionCount == nil) != (ds.Status.CollisionCount == nil) {
		return nil, fmt.Errorf("daemonset %s/%s: stale collisionCount %d (live %d), will retry", ds.Namespace, ds.Name, value(ds.Status.CollisionCount), value(live.Status.CollisionCount))
	}
	next := value(live.Status.CollisionCount) + 1
	live.Status.CollisionCount = &next
	if _, err := dsClient.UpdateStatus(ctx, live, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("bump collisionCount of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return nil, fmt.Errorf("hash collision for daemonset %s/%s: bumped collisionCount to %d", ds.Namespace, ds.Name, next)
}

func value(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
