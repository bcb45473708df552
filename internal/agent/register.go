package agent

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// maxPods is the kubelet's default --max-pods.
const maxPods = 110

// nodeLabels are the labels the node registers with: the configured ones
// plus the well-known hostname, os and arch labels, which win.
func nodeLabels(name string, labels map[string]string, host HostInfo) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out[corev1.LabelHostname] = name
	out[corev1.LabelOSStable] = host.OperatingSystem
	out[corev1.LabelArchStable] = host.Architecture
	return out
}

// initialNode is the Node the agent creates: labels, the registration
// taints (only ever set at creation), and its status.
func (a *Agent) initialNode() *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Labels: nodeLabels(a.cfg.NodeName, a.cfg.Labels, a.host)},
		Spec:       corev1.NodeSpec{Taints: append([]corev1.Taint(nil), a.cfg.Taints...)},
	}
	n.Status = a.nodeStatus(nil)
	return n
}

// nodeStatus computes the node's status; old (nil at registration) keeps
// condition transition times and heartbeats that did not change.
func (a *Agent) nodeStatus(old *corev1.NodeStatus) corev1.NodeStatus {
	return nodeStatus(nodeFacts{
		Name: a.cfg.NodeName, Address: a.cfg.Address, Host: a.host, Port: int32(a.logPort),
		Version: a.cfg.Version, Runtime: a.cfg.RuntimeName + "://" + a.cfg.RuntimeVersion,
	}, a.cfg.Clock.Now(), old)
}

// nodeFacts are the inputs of the node status.
type nodeFacts struct {
	Name, Address    string
	Host             HostInfo
	Port             int32
	Version, Runtime string
}

// nodeStatus is the NodeStatus the kubelet posts: addresses, capacity,
// nodeInfo, daemon endpoint and the four conditions it owns, all healthy
// (the agent does not measure pressure). Heartbeat times are now; a
// condition whose status did not change keeps its transition time.
func nodeStatus(f nodeFacts, now time.Time, old *corev1.NodeStatus) corev1.NodeStatus {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(f.Host.CPUs, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(f.Host.MemoryBytes, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(maxPods, resource.DecimalSI),
	}
	st := corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity.DeepCopy(),
		Phase:       "",
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: f.Address},
			{Type: corev1.NodeHostName, Address: f.Name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: f.Port}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: f.Host.MachineID, SystemUUID: f.Host.MachineID,
			KernelVersion: f.Host.KernelVersion, OSImage: f.Host.OSImage,
			ContainerRuntimeVersion: f.Runtime, KubeletVersion: f.Version, KubeProxyVersion: "",
			OperatingSystem: f.Host.OperatingSystem, Architecture: f.Host.Architecture,
		},
	}
	t := rfcTime(now)
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
	st.Conditions = []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	}
	if old != nil {
		// Conditions owned by others (NetworkUnavailable, …) stay.
		for _, o := range old.Conditions {
			switch o.Type {
			case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeReady:
			default:
				st.Conditions = append(st.Conditions, o)
			}
		}
		st.Images, st.VolumesInUse, st.VolumesAttached = old.Images, old.VolumesInUse, old.VolumesAttached
	}
	return st
}

// statusChanged compares two node statuses ignoring heartbeat times.
func statusChanged(a, b corev1.NodeStatus) bool {
	strip := func(s corev1.NodeStatus) corev1.NodeStatus {
		s = *s.DeepCopy()
		for i := range s.Conditions {
			s.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
		return s
	}
	return !apiequality.Semantic.DeepEqual(strip(a), strip(b))
}

// register creates the Node, or carries on as an existing one: its labels,
// addresses, capacity and status are brought up to date; its taints are
// not touched (NodeRestriction forbids a node changing them, and after
// registration they belong to the administrator and the controllers).
func (a *Agent) register(ctx context.Context) error {
	want := a.initialNode()
	created, err := a.cfg.Client.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	switch {
	case err == nil:
		klog.FromContext(ctx).Info("registered node", "node", a.cfg.NodeName)
		return a.writeNodeStatus(ctx, created)
	case !apierrors.IsAlreadyExists(err):
		return fmt.Errorf("register node %s: %w", a.cfg.NodeName, err)
	}
	node, err := a.cfg.Client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", a.cfg.NodeName, err)
	}
	labels := maps.Clone(node.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, want.Labels)
	if !maps.Equal(labels, node.Labels) {
		node = node.DeepCopy()
		node.Labels = labels
		if node, err = a.cfg.Client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update labels of node %s: %w", a.cfg.NodeName, err)
		}
	}
	klog.FromContext(ctx).Info("node already registered, carrying on", "node", a.cfg.NodeName)
	return a.writeNodeStatus(ctx, node)
}

// writeNodeStatus posts the node's status now, heartbeat included.
func (a *Agent) writeNodeStatus(ctx context.Context, node *corev1.Node) error {
	node = node.DeepCopy()
	node.Status = a.nodeStatus(&node.Status)
	updated, err := a.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of node %s: %w", a.cfg.NodeName, err)
	}
	a.mu.Lock()
	a.lastStatusWrite = a.cfg.Clock.Now()
	a.mu.Unlock()
	_ = updated
	return nil
}
