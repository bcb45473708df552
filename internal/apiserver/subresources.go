package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/everynode/everynode/internal/apiserver/validation"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// decodeSub decodes a subresource request body into into.
func (s *Server) decodeSub(r *http.Request, into runtime.Object, gvk metav1.GroupVersionKind) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	dec, _, ok := s.decoderFor(r.Header.Get("Content-Type"), false)
	if !ok {
		return apierrors.NewBadRequest("unsupported media type")
	}
	def := into.GetObjectKind().GroupVersionKind()
	def.Group, def.Version, def.Kind = gvk.Group, gvk.Version, gvk.Kind
	if _, _, err := dec.Decode(data, &def, into); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("decode %s: %v", gvk.Kind, err))
	}
	return nil
}

// serveBinding binds a pod to a node, as the scheduler does: it sets
// spec.nodeName once and marks the pod scheduled.
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, req request) {
	b := &corev1.Binding{}
	if err := s.decodeSub(r, b, metav1.GroupVersionKind{Version: "v1", Kind: "Binding"}); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Name == "" {
		b.Name = req.name
	}
	if b.Namespace == "" {
		b.Namespace = req.namespace
	}
	if b.Name != req.name || b.Namespace != req.namespace {
		s.writeError(w, r, apierrors.NewBadRequest("the name and namespace of the binding must match the pod's"))
		return
	}
	if errs := validation.ValidateBinding(b); len(errs) > 0 {
		s.writeError(w, r, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), b.Name, errs))
		return
	}
	k := req.kind
	st := s.storageOf(k)
	now := s.now()
	_, err := st.Update(r.Context(), st.Key(req.namespace, req.name), func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(k.groupResource(), req.name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", req.name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(k.groupResource(), req.name, fmt.Errorf("pod %s is already assigned to node %q", req.name, pod.Spec.NodeName))
		}
		if b.UID != "" && b.UID != pod.UID {
			return nil, apierrors.NewConflict(k.groupResource(), req.name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		pod.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now})
		return pod, nil
	})
	if err != nil {
		s.writeError(w, r, storeError(err, k, req.name))
		return
	}
	st2 := &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated}
	st2.Kind, st2.APIVersion = "Status", "v1"
	out, _ := s.negotiate(r)
	s.encode(w, out, http.StatusCreated, st2)
}

func setPodCondition(status *corev1.PodStatus, c corev1.PodCondition) {
	for i := range status.Conditions {
		if status.Conditions[i].Type == c.Type {
			if status.Conditions[i].Status == c.Status {
				return
			}
			status.Conditions[i] = c
			return
		}
	}
	status.Conditions = append(status.Conditions, c)
}

// serveEviction deletes a pod through the eviction API. everynode has no
// PodDisruptionBudgets, so an eviction is always allowed.
func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, req request) {
	ev := &policyv1.Eviction{}
	if err := s.decodeSub(r, ev, metav1.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}); err != nil {
		s.writeError(w, r, err)
		return
	}
	if ev.Name != "" && ev.Name != req.name {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("name in URL does not match name in Eviction object")))
		return
	}
	var opts metav1.DeleteOptions
	if ev.DeleteOptions != nil {
		opts = *ev.DeleteOptions
	}
	if _, _, err := s.delete(r.Context(), req.kind, req.namespace, req.name, opts); err != nil {
		s.writeError(w, r, err)
		return
	}
	st := &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated}
	st.Kind, st.APIVersion = "Status", "v1"
	out, _ := s.negotiate(r)
	s.encode(w, out, http.StatusCreated, st)
}

// serveLog answers pods/log. Logs live on the node running the pod; until
// node agents serve them the answer says so in upstream's words.
func (s *Server) serveLog(w http.ResponseWriter, r *http.Request, req request) {
	st := s.storageOf(req.kind)
	obj, err := st.Get(r.Context(), st.Key(req.namespace, req.name))
	if err != nil {
		s.writeError(w, r, storeError(err, req.kind, req.name))
		return
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", req.name)))
		return
	}
	s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("the node %s of pod %s does not serve logs yet", pod.Spec.NodeName, req.name)))
}
