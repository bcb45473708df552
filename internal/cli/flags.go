package cli

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	apivalidation "github.com/everynode/everynode/internal/apiserver/validation"
)

// parseLabels reads --node-labels: "k=v,k2=v2".
func parseLabels(items []string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("invalid label %q: want key=value", item)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("invalid label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("invalid label value %q: %s", v, strings.Join(errs, "; "))
		}
		out[k] = v
	}
	return out, nil
}

// parseTaints reads --register-with-taints: "k=v:Effect,k2:Effect" as the
// kubelet does.
func parseTaints(items []string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, item := range items {
		kv, effect, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("invalid taint %q: want key[=value]:Effect", item)
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	if errs := apivalidation.ValidateTaints(out, field.NewPath("--register-with-taints")); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return out, nil
}
