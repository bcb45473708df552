package sim

import (
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What every simulated node reports: a modest machine with the kubelet's
// default pod limit.
var (
	nodeCPU    = resource.MustParse("4")
	nodeMemory = resource.MustParse("16Gi")
	nodePods   = resource.MustParse("110")
)

// kubeletVersion and runtimeVersion identify the simulator in nodeInfo, so
// that nobody mistakes a simulated node for a real agent.
const (
	kubeletVersion = "v1.37.0-everynode-sim"
	runtimeVersion = "fake://0.1.0"
)

// firstNodeIP is where the fake address range starts (10.128.0.0/9 holds
// eight million nodes, far more than one process can simulate).
var firstNodeIP = netip.MustParseAddr("10.128.0.1")

// nodeIP is the InternalIP of the i-th simulated node; its pods share it,
// as pods of the fake runtime are "host processes".
func nodeIP(i int) string {
	a := firstNodeIP.As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// nodeName is the i-th node's name, zero-padded to the width of the largest
// index so that names sort in order.
func nodeName(prefix string, i, n int) string {
	width := len(strconv.Itoa(max(n-1, 0)))
	return fmt.Sprintf("%s%0*d", prefix, width, i)
}

// nodeObject is the Node a simulated node registers: the configured labels
// under the well-known ones (which win, as with the kubelet), the
// registration taints, and a healthy status.
func nodeObject(name, ip string, labels map[string]string, taints []corev1.Taint, now time.Time) *corev1.Node {
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[corev1.LabelHostname] = name
	l[corev1.LabelOSStable] = "linux"
	l[corev1.LabelArchStable] = "amd64"
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l},
		Spec:       corev1.NodeSpec{Taints: append([]corev1.Taint(nil), taints...)},
		Status:     nodeStatus(name, ip, now, nil),
	}
}

// nodeStatus is the status a healthy kubelet posts. old (nil at
// registration) keeps the transition times of conditions whose status did
// not change, and conditions owned by others.
func nodeStatus(name, ip string, now time.Time, old *corev1.NodeStatus) corev1.NodeStatus {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    nodeCPU,
		corev1.ResourceMemory: nodeMemory,
		corev1.ResourcePods:   nodePods,
	}
	t := metav1.NewTime(now).Rfc3339Copy()
	cond := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastHeartbeatTime: t, LastTransitionTime: t}
		if old != nil {
			for _, o := range old.Conditions {
				if o.Type == typ && o.Status == status {
					c.LastTransitionTime = o.LastTransitionTime
				}
			}
		}
		return c
	}
	st := corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity.DeepCopy(),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: ip},
			{Type: corev1.NodeHostName, Address: name},
		},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: name, SystemUUID: name, BootID: name,
			KernelVersion: "6.0.0-sim", OSImage: "everynode simulated node",
			ContainerRuntimeVersion: runtimeVersion, KubeletVersion: kubeletVersion,
			OperatingSystem: "linux", Architecture: "amd64",
		},
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
		},
	}
	if old != nil {
		for _, o := range old.Conditions {
			switch o.Type {
			case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeReady:
			default:
				st.Conditions = append(st.Conditions, o)
			}
		}
	}
	return st
}

// podRunningReady reports whether pod already shows what the simulator
// would report: Running with the Ready condition true.
func podRunningReady(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// runningStatus is the status of pod once every container started and
// passed its probes: init containers completed, app containers running
// and ready, the pod Running and Ready at ip. Conditions the kubelet does
// not own (PodScheduled, readiness gates) are kept, and so are transition
// times of conditions that were already true.
func runningStatus(pod *corev1.Pod, ip string, now time.Time) corev1.PodStatus {
	t := metav1.NewTime(now).Rfc3339Copy()
	st := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    ip,
		HostIPs:   []corev1.HostIP{{IP: ip}},
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		StartTime: pod.Status.StartTime,
		QOSClass:  pod.Status.QOSClass,
	}
	if st.StartTime == nil {
		st.StartTime = &t
	}
	id := func(name string) string { return "fake://" + string(pod.UID) + "-" + name }
	for _, c := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: id(c.Name), Started: new(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: t, FinishedAt: t, ContainerID: id(c.Name),
			}},
		})
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: id(c.Name),
			Ready: true, Started: new(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t}},
		})
	}
	mine := []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady}
	owned := map[corev1.PodConditionType]bool{}
	for _, typ := range mine {
		owned[typ] = true
		c := corev1.PodCondition{Type: typ, Status: corev1.ConditionTrue, LastTransitionTime: t}
		for _, o := range pod.Status.Conditions {
			if o.Type == typ && o.Status == corev1.ConditionTrue {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	for _, o := range pod.Status.Conditions {
		if !owned[o.Type] {
			st.Conditions = append(st.Conditions, o)
		}
	}
	return st
}
