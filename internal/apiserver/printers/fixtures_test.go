package printers

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// now is the fixed reference time of every test.
var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ago(d time.Duration) metav1.Time           { return metav1.NewTime(now.Add(-d)) }
func agoMicro(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(now.Add(-d)) }

func objMeta(name string, age time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(age)}
}

// Container state helpers.
func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, exitCode, signal int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exitCode, Signal: signal, FinishedAt: ago(time.Minute)}}
}

func lastTerminatedAgo(d time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, FinishedAt: ago(d)}}
}

func cond(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

// pod builds a pod with one app container per status given, named c0, c1, …
func pod(name string, phase corev1.PodPhase, statuses ...corev1.ContainerStatus) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: objMeta(name, 3*time.Hour),
		Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: statuses},
	}
	for i := range statuses {
		n := "c" + string(rune('0'+i))
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "busybox"})
		p.Status.ContainerStatuses[i].Name = n
	}
	if len(statuses) == 0 {
		p.Spec.Containers = []corev1.Container{{Name: "c0", Image: "busybox"}}
	}
	return p
}

func with(p *corev1.Pod, mutate func(*corev1.Pod)) *corev1.Pod {
	mutate(p)
	return p
}

// withInit adds init containers i0, i1, … with the given statuses; sidecars
// lists the indexes that are restartable (restartPolicy Always).
func withInit(p *corev1.Pod, n int, sidecars []int, statuses ...corev1.ContainerStatus) *corev1.Pod {
	for i := 0; i < n; i++ {
		c := corev1.Container{Name: "i" + string(rune('0'+i)), Image: "busybox"}
		for _, s := range sidecars {
			if s == i {
				c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
			}
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
	for i := range statuses {
		statuses[i].Name = "i" + string(rune('0'+i))
	}
	p.Status.InitContainerStatuses = statuses
	return p
}

func readyRunning() corev1.ContainerStatus {
	return corev1.ContainerStatus{Ready: true, Started: ptr.To(true), State: running()}
}

// goldenPods is a pod list covering the status cases kubectl users meet.
func goldenPods() []runtime.Object {
	deleting := metav1.NewTime(now.Add(-10 * time.Second))
	return []runtime.Object{
		with(pod("running", corev1.PodRunning, readyRunning()), func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Status.PodIP = "10.0.0.5"
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}}
			p.Status.Conditions = []corev1.PodCondition{cond(corev1.PodReady, corev1.ConditionTrue)}
		}),
		pod("pending-unscheduled", corev1.PodPending),
		with(pod("container-creating", corev1.PodPending, corev1.ContainerStatus{State: waiting("ContainerCreating")}), func(p *corev1.Pod) {
			p.Spec.NodeName = "node-2"
		}),
		with(pod("crashloop", corev1.PodRunning, corev1.ContainerStatus{RestartCount: 5, State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerminatedAgo(90 * time.Second)}), func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Status.PodIP = "10.0.0.6" // podIPs empty: IP falls back to podIP
		}),
		pod("completed", corev1.PodSucceeded, corev1.ContainerStatus{State: terminated("Completed", 0, 0)}),
		pod("failed", corev1.PodFailed, corev1.ContainerStatus{State: terminated("Error", 1, 0)}),
		with(pod("terminating", corev1.PodRunning, readyRunning()), func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleting
			p.Status.Conditions = []corev1.PodCondition{cond(corev1.PodReady, corev1.ConditionTrue)}
		}),
		with(pod("node-lost", corev1.PodRunning, readyRunning()), func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleting
			p.Status.Reason = "NodeLost"
		}),
		withInit(pod("init-waiting", corev1.PodPending, corev1.ContainerStatus{State: waiting("PodInitializing")}), 2, nil,
			corev1.ContainerStatus{State: terminated("Completed", 0, 0)},
			corev1.ContainerStatus{State: running()},
		),
		withInit(pod("init-crashloop", corev1.PodPending, corev1.ContainerStatus{State: waiting("PodInitializing")}), 1, nil,
			corev1.ContainerStatus{RestartCount: 3, State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerminatedAgo(30 * time.Second)},
		),
		with(withInit(pod("sidecar", corev1.PodRunning, readyRunning()), 1, []int{0},
			corev1.ContainerStatus{Ready: true, Started: ptr.To(true), RestartCount: 1, State: running(), LastTerminationState: lastTerminatedAgo(5 * time.Minute)},
		), func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionTrue)}
		}),
		with(pod("gated", corev1.PodPending), func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
		}),
		with(pod("readiness-gates", corev1.PodRunning, readyRunning()), func(p *corev1.Pod) {
			p.Spec.NodeName = "node-3"
			p.Status.NominatedNodeName = "node-4"
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}}
			p.Status.Conditions = []corev1.PodCondition{
				cond(corev1.PodReady, corev1.ConditionFalse),
				cond("example.com/lb", corev1.ConditionTrue),
				cond("example.com/dns", corev1.ConditionFalse),
			}
		}),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "no-creation-time"}},
	}
}

func node(name string, mutate func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: ago(50 * 24 * time.Hour)},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeHostName, Address: name},
				{Type: corev1.NodeInternalIP, Address: "192.168.1.10"},
				{Type: corev1.NodeInternalIP, Address: "192.168.1.11"},
			},
			NodeInfo: corev1.NodeSystemInfo{
				KubeletVersion:          "v1.37.0-everynode",
				OSImage:                 "Debian GNU/Linux 13 (trixie)",
				KernelVersion:           "6.12.0-1-amd64",
				ContainerRuntimeVersion: "containerd://2.1.0",
			},
		},
	}
	mutate(n)
	return n
}

func goldenNodes() []runtime.Object {
	return []runtime.Object{
		node("cp-1", func(n *corev1.Node) {
			n.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "true"}
			n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.7"})
		}),
		node("worker-ready", func(n *corev1.Node) { n.Labels = map[string]string{"kubernetes.io/role": "worker"} }),
		node("worker-notready", func(n *corev1.Node) {
			n.Status.Conditions[0].Status = corev1.ConditionFalse
		}),
		node("worker-unknown", func(n *corev1.Node) {
			n.Status.Conditions[0].Status = corev1.ConditionUnknown
		}),
		node("worker-cordoned", func(n *corev1.Node) { n.Spec.Unschedulable = true }),
		node("never-reported", func(n *corev1.Node) {
			n.Status = corev1.NodeStatus{}
			n.Spec.Unschedulable = true
		}),
	}
}

func goldenEvents() []runtime.Object {
	return []runtime.Object{
		&corev1.Event{
			ObjectMeta:     objMeta("ds1.1880a1", time.Hour),
			InvolvedObject: corev1.ObjectReference{Kind: "DaemonSet", Namespace: "default", Name: "ds1", APIVersion: "apps/v1"},
			Reason:         "SuccessfulCreate",
			Message:        "Created pod: ds1-abcde\n",
			Source:         corev1.EventSource{Component: "daemonset-controller"},
			FirstTimestamp: ago(time.Hour),
			LastTimestamp:  ago(5 * time.Minute),
			Count:          4,
			Type:           corev1.EventTypeNormal,
		},
		&corev1.Event{
			ObjectMeta:     objMeta("ds1-abcde.1880a2", 2*time.Minute),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "ds1-abcde", FieldPath: "spec.containers{app}"},
			Reason:         "BackOff",
			Message:        "Back-off restarting failed container app",
			Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: ago(2 * time.Minute),
			Type:           corev1.EventTypeWarning,
		},
		&corev1.Event{
			ObjectMeta:          objMeta("node-1.1880a3", 7*time.Minute),
			InvolvedObject:      corev1.ObjectReference{Kind: "Node", Name: "node-1"},
			Reason:              "TaintManagerEviction",
			Message:             "Marking for deletion Pod default/x",
			EventTime:           agoMicro(7 * time.Minute),
			Series:              &corev1.EventSeries{Count: 9, LastObservedTime: agoMicro(30 * time.Second)},
			ReportingController: "taint-eviction-controller",
			ReportingInstance:   "everynode-server",
			Type:                corev1.EventTypeNormal,
		},
		&eventsv1.Event{
			ObjectMeta:          objMeta("cluster.1880a4", 3*time.Second),
			EventTime:           agoMicro(3 * time.Second),
			ReportingController: "everynode.io/server",
			Reason:              "Starting",
			Regarding:           corev1.ObjectReference{Kind: "Cluster"},
			Note:                "  server started  ",
			Type:                corev1.EventTypeNormal,
		},
	}
}

func daemonSet(name string, mutate func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: objMeta(name, 26*time.Hour),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "agent", Image: "example.com/agent:1.2"}},
			}},
		},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 1, NumberAvailable: 2},
	}
	mutate(ds)
	return ds
}

func goldenDaemonSets() []runtime.Object {
	return []runtime.Object{
		daemonSet("plain", func(*appsv1.DaemonSet) {}),
		daemonSet("selected", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux", "disk": "ssd"}
			ds.Spec.Template.Spec.Containers = append(ds.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "example.com/log:3"})
			ds.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"node", "edge"}}}
		}),
	}
}

func goldenControllerRevisions() []runtime.Object {
	return []runtime.Object{
		&appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{
				Name: "ds1-6b8f7c9d4", Namespace: "default", CreationTimestamp: ago(48 * time.Hour),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "ds1", UID: "u1", Controller: ptr.To(true)}},
			},
			Revision: 2,
		},
		&appsv1.ControllerRevision{ObjectMeta: objMeta("orphan-1", time.Minute), Revision: 1},
	}
}

func goldenLeases() []runtime.Object {
	return []runtime.Object{
		&coordinationv1.Lease{ObjectMeta: objMeta("node-1", 10*24*time.Hour), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1")}},
		&coordinationv1.Lease{ObjectMeta: objMeta("free", 40*time.Second)},
	}
}

func goldenNamespaces() []runtime.Object {
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: ago(400 * 24 * time.Hour)}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "going", CreationTimestamp: ago(90 * time.Minute)}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	}
}

func goldenDefault() []runtime.Object {
	return []runtime.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: "default", CreationTimestamp: metav1.NewTime(time.Date(2025, 12, 31, 23, 0, 0, 0, time.FixedZone("CET", 3600)))}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "no-creation-time"}},
	}
}

func goldenServices() []runtime.Object {
	created := metav1.NewTime(now.Add(-48 * time.Hour))
	return []runtime.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", CreationTimestamp: created},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1",
				Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: created},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.3.4", Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "lb", Namespace: "default", CreationTimestamp: created},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "None"}},
	}
}

func goldenServiceAccounts() []runtime.Object {
	return []runtime.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}},
	}
}

func goldenConfigMaps() []runtime.Object {
	return []runtime.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
			Data: map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----"}},
	}
}
