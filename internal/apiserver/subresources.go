package apiserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

// serveLog answers pods/log by proxying to the logs endpoint of the agent
// running the pod, as kube-apiserver proxies to the kubelet.
func (s *Server) serveLog(w http.ResponseWriter, r *http.Request, req request) {
	st := s.storageOf(req.kind)
	obj, err := st.Get(r.Context(), st.Key(req.namespace, req.name))
	if err != nil {
		s.writeError(w, r, storeError(err, req.kind, req.name))
		return
	}
	pod := obj.(*corev1.Pod)
	q := r.URL.Query()
	container := q.Get("container")
	if container == "" {
		switch {
		case len(pod.Spec.Containers) == 1:
			container = pod.Spec.Containers[0].Name
		default:
			var names []string
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", req.name, names)))
			return
		}
	} else if !hasContainer(pod, container) {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, req.name)))
		return
	}
	if pod.Spec.NodeName == "" {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", req.name)))
		return
	}
	nodes := s.storageOf(s.kindFor("", "v1", "nodes"))
	nobj, err := nodes.Get(r.Context(), nodes.Key("", pod.Spec.NodeName))
	if err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("node %s of pod %s is not registered", pod.Spec.NodeName, req.name)))
		return
	}
	target, ok := agentLogsURL(nobj.(*corev1.Node), req.namespace, req.name, container)
	if !ok || s.cfg.AgentClient == nil {
		s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("the agent of node %s does not serve logs", pod.Spec.NodeName)))
		return
	}
	fwd := url.Values{}
	for _, k := range []string{"follow", "previous", "timestamps", "tailLines", "limitBytes", "sinceSeconds", "sinceTime"} {
		if v := q.Get(k); v != "" {
			fwd.Set(k, v)
		}
	}
	preq, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target+"?"+fwd.Encode(), nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.cfg.AgentClient.Do(preq)
	if err != nil {
		s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("reach the agent of node %s: %v", pod.Spec.NodeName, err)))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		s.writeError(w, r, apierrors.NewBadRequest(strings.TrimSpace(string(msg))))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range list {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}

// agentLogsURL is where the node's agent serves a container's logs.
func agentLogsURL(node *corev1.Node, ns, pod, container string) (string, bool) {
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port == 0 {
		return "", false
	}
	host := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return "", false
	}
	return fmt.Sprintf("https://%s/containerLogs/%s/%s/%s", net.JoinHostPort(host, strconv.Itoa(int(port))),
		url.PathEscape(ns), url.PathEscape(pod), url.PathEscape(container)), true
}
