package validation

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateNode(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(n *corev1.Node)
		want   []string
	}{
		{"valid node", func(*corev1.Node) {}, nil},
		{"namespace forbidden", func(n *corev1.Node) { n.Namespace = "default" }, []string{`metadata.namespace: Forbidden: not allowed on this type`}},
		{"T2#14 R21 duplicate taints reported under metadata.taints like upstream", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}, {Key: "k", Value: "x", Effect: corev1.TaintEffectNoSchedule}}
		}, []string{`metadata.taints[1]: Duplicate value: {"key":"k","value":"x","effect":"NoSchedule"}: taints must be unique by key and effect pair`}},
		{"podCIDRs must be one per family", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.0.0.0/24", "10.1.0.0/24"} },
			[]string{`spec.podCIDRs: Invalid value: ["10.0.0.0/24","10.1.0.0/24"]: may specify no more than one CIDR for each IP family`}},
		{"dual-stack podCIDRs accepted", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.0.0.0/24", "fd00::/64"} }, nil},
		{"negative capacity rejected", func(n *corev1.Node) {
			n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}
		}, []string{`status.capacity.cpu: Invalid value: "-1": must be greater than or equal to 0`}},
	}
	for _, tc := range cases {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}
		tc.mutate(n)
		checkErrors(t, tc.name, tc.want, ValidateNode(n))
	}
}

func TestValidateNodeUpdate(t *testing.T) {
	old := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", ResourceVersion: "9"}, Spec: corev1.NodeSpec{PodCIDRs: []string{"10.0.0.0/24"}, ProviderID: "p1"}}
	n := old.DeepCopy()
	n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	n.Spec.Unschedulable = true
	checkErrors(t, "R21 taints and unschedulable may change", nil, ValidateNodeUpdate(n, old))
	n.Spec.PodCIDRs = []string{"10.9.0.0/24"}
	n.Spec.ProviderID = "p2"
	checkErrors(t, "podCIDRs and providerID immutable once set", []string{
		`spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid`,
		`spec.providerID: Forbidden: node updates may not change providerID except from "" to valid`,
	}, ValidateNodeUpdate(n, old))
}

func TestDefaultNode(t *testing.T) {
	n := &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.0001")}}}
	DefaultNode(n)
	want := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m")}
	if diff := cmp.Diff(want.Cpu().String(), n.Status.Allocatable.Cpu().String()); diff != "" {
		t.Errorf("allocatable defaults to rounded capacity (-want +got):\n%s", diff)
	}
}

func TestNamespace(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}}
	checkErrors(t, "namespace name is a DNS label", []string{
		`metadata.name: Invalid value: "team.a": must not contain dots`,
	}, ValidateNamespace(ns))
	ns.Name = "team-a"
	ns.Spec.Finalizers = []corev1.FinalizerName{"kubernetes"}
	checkErrors(t, "standard finalizer accepted", nil, ValidateNamespace(ns))
	DefaultNamespace(ns)
	if ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("phase = %q, want Active", ns.Status.Phase)
	}
	ns.ResourceVersion = "1"
	renamed := ns.DeepCopy()
	renamed.Name = "team-b"
	checkErrors(t, "name immutable", []string{`metadata.name: Invalid value: "team-b": field is immutable`}, ValidateNamespaceUpdate(renamed, ns))
}

func TestValidateLease(t *testing.T) {
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"},
		Spec:       coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr[int32](0), LeaseTransitions: ptr[int32](-1)},
	}
	checkErrors(t, "lease durations", []string{
		`spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0`,
		`spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0`,
	}, ValidateLease(l))
	l.Spec = coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1"), LeaseDurationSeconds: ptr[int32](40)}
	checkErrors(t, "valid lease", nil, ValidateLease(l))
	l.ResourceVersion = "2"
	renewed := l.DeepCopy()
	renewed.Spec.RenewTime = &metav1.MicroTime{Time: time.Unix(100, 0)}
	checkErrors(t, "renew accepted", nil, ValidateLeaseUpdate(renewed, l))
}

func TestValidateEvent(t *testing.T) {
	base := func() *corev1.Event {
		return &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "web-1.17a3", Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web-1", Namespace: "default"},
			Reason:         "Scheduled", Type: corev1.EventTypeNormal,
		}
	}
	cases := []struct {
		name   string
		mutate func(e *corev1.Event)
		want   []string
	}{
		{"legacy event accepted", func(*corev1.Event) {}, nil},
		{"unknown type accepted for core/v1 like upstream", func(e *corev1.Event) { e.Type = "Odd" }, nil},
		{"namespace mismatch", func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" },
			[]string{`involvedObject.namespace: Invalid value: "other": does not match event.namespace`}},
		{"node events may live in default", func(e *corev1.Event) {
			e.InvolvedObject = corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: "node-1"}
		}, nil},
		{"namespaced kind needs involvedObject namespace", func(e *corev1.Event) {
			e.Namespace = "default"
			e.InvolvedObject.Namespace = ""
		}, []string{`involvedObject.namespace: Required value: required for kind Pod`}},
		{"new-style event requires reporting fields", func(e *corev1.Event) {
			e.EventTime = metav1.MicroTime{Time: time.Unix(100, 0)}
			e.Message = strings.Repeat("x", 1025)
		}, []string{
			`reportingComponent: Required value`,
			`reportingComponent: Invalid value: "": name part must be non-empty`,
			`reportingComponent: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			`reportingInstance: Required value`,
			`action: Required value`,
			`message: Invalid value: "": can have at most 1024 characters`,
		}},
	}
	for _, tc := range cases {
		e := base()
		tc.mutate(e)
		checkErrors(t, tc.name, tc.want, ValidateEvent(e))
	}
	old := base()
	old.ResourceVersion = "4"
	bumped := old.DeepCopy()
	bumped.Count = 2
	checkErrors(t, "recorder may bump count", nil, ValidateEventUpdate(bumped, old))
}
