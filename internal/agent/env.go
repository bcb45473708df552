package agent

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/everynode/everynode/internal/agent/runner"
)

// configError is a container whose configuration cannot be resolved; the
// container waits with reason CreateContainerConfigError, as in the kubelet.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// containerEnv resolves a container's environment in order: literal values
// (with $(VAR) expanded against the variables defined before them), the
// downward API (fieldRef, resourceFieldRef). envFrom and ConfigMap/Secret
// references cannot be served (everynode has no ConfigMaps or Secrets) and
// are a configError.
func containerEnv(pod *corev1.Pod, c *corev1.Container, hostIP string) ([]runner.EnvVar, error) {
	if len(c.EnvFrom) > 0 {
		src := c.EnvFrom[0]
		switch {
		case src.ConfigMapRef != nil:
			return nil, &configError{fmt.Sprintf("configmap %q not found: everynode does not serve ConfigMaps (envFrom)", src.ConfigMapRef.Name)}
		case src.SecretRef != nil:
			return nil, &configError{fmt.Sprintf("secret %q not found: everynode does not serve Secrets (envFrom)", src.SecretRef.Name)}
		}
		return nil, &configError{"envFrom is not supported by everynode"}
	}
	var out []runner.EnvVar
	defined := map[string]string{}
	for _, e := range c.Env {
		var v string
		switch {
		case e.ValueFrom == nil:
			v = expand(e.Value, mapping(defined))
		case e.ValueFrom.FieldRef != nil:
			var err error
			if v, err = podFieldValue(pod, e.ValueFrom.FieldRef.FieldPath, hostIP); err != nil {
				return nil, &configError{fmt.Sprintf("env %s: %v", e.Name, err)}
			}
		case e.ValueFrom.ResourceFieldRef != nil:
			var err error
			if v, err = resourceFieldValue(c, e.ValueFrom.ResourceFieldRef); err != nil {
				return nil, &configError{fmt.Sprintf("env %s: %v", e.Name, err)}
			}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			return nil, &configError{fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s: everynode does not serve ConfigMaps", r.Key, pod.Namespace, r.Name)}
		case e.ValueFrom.SecretKeyRef != nil:
			r := e.ValueFrom.SecretKeyRef
			return nil, &configError{fmt.Sprintf("couldn't find key %s in Secret %s/%s: everynode does not serve Secrets", r.Key, pod.Namespace, r.Name)}
		default:
			return nil, &configError{fmt.Sprintf("env %s: unsupported valueFrom", e.Name)}
		}
		defined[e.Name] = v
		out = append(out, runner.EnvVar{Name: e.Name, Value: v})
	}
	return out, nil
}

// mapping looks variables up for expand; an unknown one is kept as written.
func mapping(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// expandAll expands every string of list against env (command and args).
func expandAll(list []string, env []runner.EnvVar) []string {
	if list == nil {
		return nil
	}
	vars := map[string]string{}
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = expand(s, mapping(vars))
	}
	return out
}

// expand replaces $(NAME) with its value, as Kubernetes does for command,
// args and env: $$ is an escaped $, a reference to an unknown variable or an
// unterminated $( is left as written, and a $ before anything else is kept.
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// podFieldValue answers a downward API fieldRef. Pods run as host processes,
// so the pod IP is the host IP.
func podFieldValue(pod *corev1.Pod, path, hostIP string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return hostIP, nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// formatMap renders labels or annotations as the downward API does: sorted
// key="value" lines.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + strconv.Quote(m[k])
	}
	return strings.Join(lines, "\n")
}

// resourceFieldValue answers a resourceFieldRef: the container's limit or
// request divided by the divisor and rounded up, as the kubelet does. An
// unset cpu or memory limit reports the node's allocatable in upstream; we
// report 0 for an unset request and limit alike (documented difference).
func resourceFieldValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	var q resource.Quantity
	switch ref.Resource {
	case "limits.cpu":
		q = c.Resources.Limits[corev1.ResourceCPU]
	case "limits.memory":
		q = c.Resources.Limits[corev1.ResourceMemory]
	case "requests.cpu":
		q = c.Resources.Requests[corev1.ResourceCPU]
	case "requests.memory":
		q = c.Resources.Requests[corev1.ResourceMemory]
	default:
		return "", fmt.Errorf("unsupported resourceFieldRef %q", ref.Resource)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if strings.HasSuffix(ref.Resource, "cpu") {
		v := math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue()))
		return strconv.FormatInt(int64(v), 10), nil
	}
	v := math.Ceil(float64(q.Value()) / float64(divisor.Value()))
	return strconv.FormatInt(int64(v), 10), nil
}
