package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateTolerations(t *testing.T) {
	p := field.NewPath("spec", "tolerations")
	cases := []struct {
		name string
		tol  corev1.Toleration
		want []string
	}{
		{"T2#1 empty key with Exists tolerates everything", corev1.Toleration{Operator: corev1.TolerationOpExists}, nil},
		{"T2#2 R14 empty key with Equal rejected", corev1.Toleration{Operator: corev1.TolerationOpEqual},
			[]string{`spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when ` + "`key`" + ` is empty, which means "match all values and all keys"`}},
		{"T2#3 R14 empty key and operator rejected", corev1.Toleration{},
			[]string{`spec.tolerations[0].operator: Invalid value: "": operator must be Exists when ` + "`key`" + ` is empty, which means "match all values and all keys"`}},
		{"T2#4 R15 Exists with value rejected", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Value: "x"},
			[]string{`spec.tolerations[0].operator: Invalid value: {"Key":"k","Operator":"Exists","Value":"x","Effect":"","TolerationSeconds":null}: value must be empty when ` + "`operator`" + ` is 'Exists'`}},
		{"T2#5 R16 Equal value must be a label value", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpEqual, Value: "bad value!"},
			[]string{`spec.tolerations[0].operator: Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		{"T2#6 R17 unknown operator not supported", corev1.Toleration{Key: "k", Operator: "In"},
			[]string{`spec.tolerations[0].operator: Unsupported value: "In": supported values: "Equal", "Exists", "Lt", "Gt"`}},
		{"T2#7 R18 unknown effect not supported", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: "Foo"},
			[]string{`spec.tolerations[0].effect: Unsupported value: "Foo": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`}},
		{"T2#8 R19 tolerationSeconds with NoSchedule rejected",
			corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr[int64](30)},
			[]string{`spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be 'NoExecute' when ` + "`tolerationSeconds`" + ` is set`}},
		{"T2#9 R19 tolerationSeconds with empty effect rejected",
			corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, TolerationSeconds: ptr[int64](30)},
			[]string{`spec.tolerations[0].effect: Invalid value: "": effect must be 'NoExecute' when ` + "`tolerationSeconds`" + ` is set`}},
		{"T2#10 R19 negative tolerationSeconds with NoExecute accepted",
			corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr[int64](-5)}, nil},
		{"T2#11 R13 key must be a qualified name", corev1.Toleration{Key: "a/b/c", Operator: corev1.TolerationOpExists},
			[]string{`spec.tolerations[0].key: Invalid value: "a/b/c": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`}},
		{"T2#12 D4 Gt accepted without a feature gate", corev1.Toleration{Key: "sla", Operator: corev1.TolerationOpGt, Value: "10"}, nil},
		{"D4 Lt with negative value accepted", corev1.Toleration{Key: "sla", Operator: corev1.TolerationOpLt, Value: "-50"}, nil},
		{"T2#13 R11 leading zero rejected", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpGt, Value: "010"},
			[]string{`spec.tolerations[0].value: Invalid value: "010": must be a valid decimal integer in canonical form`}},
		{"R11 plus sign rejected", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpLt, Value: "+5"},
			[]string{`spec.tolerations[0].value: Invalid value: "+5": must be a valid decimal integer in canonical form`}},
		{"R11 minus zero rejected", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpLt, Value: "-0"},
			[]string{`spec.tolerations[0].value: Invalid value: "-0": must be a valid decimal integer in canonical form`}},
		{"R11 decimal rejected", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpLt, Value: "9.5"},
			[]string{`spec.tolerations[0].value: Invalid value: "9.5": must be a valid decimal integer in canonical form`}},
		{"R11 empty value rejected", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpGt},
			[]string{`spec.tolerations[0].value: Invalid value: "": must be non-empty`}},
		{"R11 value beyond int64 rejected", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpGt, Value: "99999999999999999999"},
			[]string{`spec.tolerations[0].value: Invalid value: "99999999999999999999": must fit in a signed 64-bit integer`}},
	}
	for _, tc := range cases {
		checkErrors(t, tc.name, tc.want, ValidateTolerations([]corev1.Toleration{tc.tol}, p))
	}
}

func TestValidateTolerationsAllowsDuplicates(t *testing.T) {
	tol := corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists}
	checkErrors(t, "R20 duplicate tolerations allowed", nil, ValidateTolerations([]corev1.Toleration{tol, tol}, field.NewPath("t")))
}

func TestValidateTaints(t *testing.T) {
	p := field.NewPath("spec", "taints")
	cases := []struct {
		name   string
		taints []corev1.Taint
		want   []string
	}{
		{"T2#14 R21 duplicate key and effect rejected",
			[]corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}, {Key: "k", Value: "x", Effect: corev1.TaintEffectNoSchedule}},
			[]string{`spec.taints[1]: Duplicate value: {"key":"k","value":"x","effect":"NoSchedule"}: taints must be unique by key and effect pair`}},
		{"T2#15 R21 same key with different effects accepted",
			[]corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}, {Key: "k", Effect: corev1.TaintEffectNoExecute}}, nil},
		{"R21 effect required", []corev1.Taint{{Key: "k"}}, []string{`spec.taints[0].effect: Required value`}},
		{"R21 key required", []corev1.Taint{{Effect: corev1.TaintEffectNoSchedule}},
			[]string{`spec.taints[0].key: Invalid value: "": name part must be non-empty`, `spec.taints[0].key: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{"R21 unknown effect not supported", []corev1.Taint{{Key: "k", Effect: "Bogus"}},
			[]string{`spec.taints[0].effect: Unsupported value: "Bogus": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`}},
		{"R12 taint values are not validated as numbers", []corev1.Taint{{Key: "sla", Value: "0950", Effect: corev1.TaintEffectNoSchedule}}, nil},
	}
	for _, tc := range cases {
		checkErrors(t, tc.name, tc.want, ValidateTaints(tc.taints, p))
	}
}
