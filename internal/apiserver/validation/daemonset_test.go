package validation

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func rollingUpdate(maxUnavailable, maxSurge intstr.IntOrString) appsv1.DaemonSetUpdateStrategy {
	return appsv1.DaemonSetUpdateStrategy{
		Type:          appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
	}
}

func TestValidateDaemonSet(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(ds *appsv1.DaemonSet)
		want   []string
	}{
		{"T11#1 selector matches a subset of template labels", func(*appsv1.DaemonSet) {}, nil},
		{"T11#2 R183 selector does not match template labels", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Labels = map[string]string{"app": "b"}
		}, []string{`spec.template.metadata.labels: Invalid value: {"app":"b"}: ` + "`selector` does not match template `labels`"}},
		{"T11#3 R182 empty selector", func(ds *appsv1.DaemonSet) {
			ds.Spec.Selector = &metav1.LabelSelector{}
		}, []string{`spec.selector: Invalid value: {}: empty selector is invalid for daemonset`}},
		{"T11#4 R182 missing selector", func(ds *appsv1.DaemonSet) {
			ds.Spec.Selector = nil
		}, []string{`spec.template.metadata.labels: Invalid value: {"app":"a","tier":"x"}: ` + "`selector` does not match template `labels`"}},
		{"R182 invalid selector operator", func(ds *appsv1.DaemonSet) {
			ds.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Gt", Values: []string{"1"}}}}
		}, []string{`spec.selector.matchExpressions[0].operator: Invalid value: "Gt": not a valid selector operator`}},
		{"T11#5 R184 restartPolicy OnFailure", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}, []string{`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{"T11#6 R184 activeDeadlineSeconds forbidden", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.ActiveDeadlineSeconds = ptr[int64](10)
		}, []string{`spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported`}},
		{"T11#7 R185 negative minReadySeconds", func(ds *appsv1.DaemonSet) {
			ds.Spec.MinReadySeconds = -1
		}, []string{`spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0`}},
		{"T11#8 R185 revisionHistoryLimit 0 accepted", func(ds *appsv1.DaemonSet) {
			ds.Spec.RevisionHistoryLimit = ptr[int32](0)
		}, nil},
		{"R185 negative revisionHistoryLimit", func(ds *appsv1.DaemonSet) {
			ds.Spec.RevisionHistoryLimit = ptr[int32](-1)
		}, []string{`spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0`}},
		{"T11#9 R186 unknown strategy type", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: "Recreate"}
		}, []string{`spec.updateStrategy: Unsupported value: {"type":"Recreate"}: supported values: "RollingUpdate", "OnDelete"`}},
		{"T11#10 R105 maxUnavailable 0 with maxSurge 10%", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = rollingUpdate(intstr.FromInt32(0), intstr.FromString("10%"))
		}, nil},
		{"T11#11 T7#13 R105 both non-zero rejected", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = rollingUpdate(intstr.FromString("20%"), intstr.FromInt32(1))
		}, []string{`spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero`}},
		{"T11#12 R186 OnDelete ignores rollingUpdate block", func(ds *appsv1.DaemonSet) {
			zero := intstr.FromInt32(0)
			ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &zero}}
		}, nil},
		{"T7#11 R104 percent above 100 rejected", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = rollingUpdate(intstr.FromString("101%"), intstr.FromInt32(0))
		}, []string{`spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "101%": must not be greater than 100%`}},
		{"T7#12 R104 string without percent rejected", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = rollingUpdate(intstr.FromString("5"), intstr.FromInt32(0))
		}, []string{`spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "5": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`}},
		{"T7#14 R105 both zero rejected", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = rollingUpdate(intstr.FromInt32(0), intstr.FromInt32(0))
		}, []string{`spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0`}},
		{"T7#15 R105 both zero percent rejected", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = rollingUpdate(intstr.FromString("0%"), intstr.FromString("0%"))
		}, []string{`spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0`}},
		{"R104 negative integer rejected", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = rollingUpdate(intstr.FromInt32(-1), intstr.FromInt32(0))
		}, []string{`spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: -1: must be greater than or equal to 0`}},
		{"R186 RollingUpdate without rollingUpdate block", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = nil
		}, []string{`spec.updateStrategy.rollingUpdate: Required value`}},
		{"T11#16 R122 maxSurge with hostPort accepted", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = rollingUpdate(intstr.FromInt32(0), intstr.FromInt32(1))
			ds.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80, Protocol: corev1.ProtocolTCP}}
		}, nil},
		{"R181 name must be a DNS subdomain", func(ds *appsv1.DaemonSet) {
			ds.Name = "Agent"
		}, []string{`metadata.name: Invalid value: "Agent": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"namespace required", func(ds *appsv1.DaemonSet) {
			ds.Namespace = ""
		}, []string{`metadata.namespace: Required value`}},
		{"R184 template pod spec is validated", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Containers[0].Image = ""
		}, []string{`spec.template.spec.containers[0].image: Required value`}},
		{"hostNetwork template may leave hostPort unset", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.HostNetwork = true
			ds.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9100, Protocol: corev1.ProtocolTCP}}
		}, nil},
		{"hostNetwork template hostPort must match containerPort", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.HostNetwork = true
			ds.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9100, HostPort: 9200, Protocol: corev1.ProtocolTCP}}
		}, []string{"spec.template.spec.containers[0].ports[0].hostPort: Invalid value: 9200: must match `containerPort` when `hostNetwork` is true"}},
		{"template tolerations validated", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr[int64](1)}}
		}, []string{`spec.template.spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be 'NoExecute' when ` + "`tolerationSeconds`" + ` is set`}},
	}
	for _, tc := range cases {
		ds := validDaemonSet()
		tc.mutate(ds)
		checkErrors(t, tc.name, tc.want, ValidateDaemonSet(ds))
	}
}

func TestDefaultDaemonSet(t *testing.T) {
	one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
	cases := []struct {
		name string
		in   appsv1.DaemonSetUpdateStrategy
		want appsv1.DaemonSetUpdateStrategy
	}{
		{"T11#15 R180 empty strategy becomes RollingUpdate 1/0", appsv1.DaemonSetUpdateStrategy{},
			appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &zero}}},
		{"R180 only maxSurge given keeps it and defaults maxUnavailable",
			appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: &one}},
			appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &one}}},
		{"R180 OnDelete gets no rollingUpdate defaults", appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType},
			appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}},
	}
	for _, tc := range cases {
		ds := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{UpdateStrategy: tc.in}}
		DefaultDaemonSet(ds)
		if diff := cmp.Diff(tc.want, ds.Spec.UpdateStrategy); diff != "" {
			t.Errorf("%s: strategy (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(ptr[int32](10), ds.Spec.RevisionHistoryLimit); diff != "" {
			t.Errorf("%s: revisionHistoryLimit (-want +got):\n%s", tc.name, diff)
		}
	}

	ds := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		HostNetwork: true,
		Containers:  []corev1.Container{{Name: "c", Image: "img", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}},
	}}}}
	DefaultDaemonSet(ds)
	got := ds.Spec.Template.Spec
	want := corev1.PodSpec{
		HostNetwork:                   true,
		RestartPolicy:                 corev1.RestartPolicyAlways,
		DNSPolicy:                     corev1.DNSClusterFirst,
		SchedulerName:                 "default-scheduler",
		TerminationGracePeriodSeconds: ptr[int64](30),
		SecurityContext:               &corev1.PodSecurityContext{},
		Containers: []corev1.Container{{
			Name: "c", Image: "img", ImagePullPolicy: corev1.PullAlways,
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			// Templates keep hostPort 0: it is defaulted on the pod only.
			Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("R180 template defaults (-want +got):\n%s", diff)
	}
}

func TestValidateDaemonSetUpdate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(ds *appsv1.DaemonSet)
		want   []string
	}{
		{"R37 template change accepted", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Containers[0].Image = "agent:v2"
		}, nil},
		{"T11#13 R187 selector change rejected", func(ds *appsv1.DaemonSet) {
			ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "x"}}
		}, []string{`spec.selector: Invalid value: {"matchLabels":{"tier":"x"}}: field is immutable`}},
		{"name change rejected", func(ds *appsv1.DaemonSet) {
			ds.Name = "other"
		}, []string{`metadata.name: Invalid value: "other": field is immutable`}},
	}
	for _, tc := range cases {
		oldDS := validDaemonSet()
		oldDS.ResourceVersion = "1"
		newDS := oldDS.DeepCopy()
		tc.mutate(newDS)
		checkErrors(t, tc.name, tc.want, ValidateDaemonSetUpdate(newDS, oldDS))
	}
}

func TestValidateDaemonSetStatusUpdate(t *testing.T) {
	cases := []struct {
		name     string
		old, new appsv1.DaemonSetStatus
		want     []string
	}{
		{"R188 counters may grow", appsv1.DaemonSetStatus{}, appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CollisionCount: ptr[int32](1)}, nil},
		{"T11#14 R157 collisionCount 3 to 2 rejected",
			appsv1.DaemonSetStatus{CollisionCount: ptr[int32](3)}, appsv1.DaemonSetStatus{CollisionCount: ptr[int32](2)},
			[]string{`status.collisionCount: Invalid value: 2: cannot be decremented`}},
		{"R188 collisionCount cleared rejected",
			appsv1.DaemonSetStatus{CollisionCount: ptr[int32](3)}, appsv1.DaemonSetStatus{},
			[]string{`status.collisionCount: Invalid value: 0: cannot be decremented`}},
		{"R188 negative counters rejected", appsv1.DaemonSetStatus{},
			appsv1.DaemonSetStatus{NumberReady: -1, ObservedGeneration: -2},
			[]string{
				`status.numberReady: Invalid value: -1: must be greater than or equal to 0`,
				`status.observedGeneration: Invalid value: -2: must be greater than or equal to 0`,
			}},
	}
	for _, tc := range cases {
		oldDS := validDaemonSet()
		oldDS.ResourceVersion = "7"
		oldDS.Status = tc.old
		newDS := oldDS.DeepCopy()
		newDS.Status = tc.new
		checkErrors(t, tc.name, tc.want, ValidateDaemonSetStatusUpdate(newDS, oldDS))
	}
}

func TestValidateControllerRevision(t *testing.T) {
	valid := func() *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: "agent-6b8f9", Namespace: "kube-system", ResourceVersion: "5"},
			Data:       runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"$patch":"replace"}}}`)},
			Revision:   1,
		}
	}
	cr := valid()
	cr.Data = runtime.RawExtension{}
	cr.Revision = -1
	checkErrors(t, "data required and revision non-negative", []string{
		`data: Required value: data is mandatory`,
		`revision: Invalid value: -1: must be greater than or equal to 0`,
	}, ValidateControllerRevision(cr))
	checkErrors(t, "valid revision", nil, ValidateControllerRevision(valid()))

	oldCR, newCR := valid(), valid()
	newCR.Revision = 3
	checkErrors(t, "R142 revision may be bumped", nil, ValidateControllerRevisionUpdate(newCR, oldCR))
	newCR.Data = runtime.RawExtension{Raw: []byte(`{}`)}
	checkErrors(t, "data immutable", []string{`data: Invalid value: {}: field is immutable`}, ValidateControllerRevisionUpdate(newCR, oldCR))
}
