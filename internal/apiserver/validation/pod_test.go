package validation

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDefaultPod(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		HostNetwork: true,
		Volumes:     []corev1.Volume{{Name: "scratch"}, {Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}},
		Containers: []corev1.Container{{
			Name: "c", Image: "registry:5000/app@sha256:abc",
			Ports:         []corev1.ContainerPort{{ContainerPort: 9100}},
			Env:           []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{}}},
			Resources:     corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
		}},
	}}
	DefaultPod(pod)
	want := corev1.PodSpec{
		HostNetwork: true,
		Volumes: []corev1.Volume{
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{DefaultMode: ptr[int32](0644)}}},
		},
		Containers: []corev1.Container{{
			Name: "c", Image: "registry:5000/app@sha256:abc", ImagePullPolicy: corev1.PullIfNotPresent,
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			Ports: []corev1.ContainerPort{{ContainerPort: 9100, HostPort: 9100, Protocol: corev1.ProtocolTCP}},
			Env:   []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}}},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Scheme: corev1.URISchemeHTTP}},
				TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
			},
		}},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptr[int64](30),
		DNSPolicy:                     corev1.DNSClusterFirst,
		SecurityContext:               &corev1.PodSecurityContext{},
		SchedulerName:                 "default-scheduler",
		EnableServiceLinks:            ptr(true),
	}
	if diff := cmp.Diff(want, pod.Spec); diff != "" {
		t.Errorf("pod defaults (-want +got):\n%s", diff)
	}
	if pod.Status.Phase != "" {
		t.Errorf("phase is set by the registry strategy, not defaulting; got %q", pod.Status.Phase)
	}
}

func TestImageTag(t *testing.T) {
	for image, want := range map[string]string{
		"nginx": "latest", "nginx:latest": "latest", "nginx:1.27": "1.27",
		"localhost:5000/app": "latest", "localhost:5000/app:v1": "v1", "app@sha256:abc": "", "app:v1@sha256:abc": "v1",
	} {
		if got := imageTag(image); got != want {
			t.Errorf("imageTag(%q) = %q, want %q", image, got, want)
		}
	}
}

func TestValidatePod(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"valid defaulted pod", func(*corev1.Pod) {}, nil},
		{"containers required", func(p *corev1.Pod) { p.Spec.Containers = nil }, []string{`spec.containers: Required value`}},
		{"container name is a DNS label", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Web" },
			[]string{`spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{"duplicate names across init and regular containers", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{p.Spec.Containers[0]}
		}, []string{`spec.initContainers[0].name: Duplicate value: "web"`}},
		{"containerPort out of range and bad protocol", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000, Protocol: "ICMP"}}
		}, []string{
			`spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive`,
			`spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`,
		}},
		{"duplicate host ports across containers", func(p *corev1.Pod) {
			c := p.Spec.Containers[0]
			c.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
			c2 := c
			c2.Name = "sidecar"
			p.Spec.Containers = []corev1.Container{c, c2}
		}, []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`}},
		{"hostNetwork pod hostPort must equal containerPort", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 81, Protocol: corev1.ProtocolTCP}}
		}, []string{"spec.containers[0].ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true"}},
		{"volume mount must name a volume", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []string{`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{"hostPath needs a path and a known type", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log", Type: ptr(corev1.HostPathType("Dir"))}}}}
		}, []string{`spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"`}},
		{"two volume sources", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}}}
		}, []string{`spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type`}},
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")},
			}
		}, []string{`spec.containers[0].resources.requests: Invalid value: "200m": must be less than or equal to cpu limit of 100m`}},
		{"unknown unprefixed resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{"gpu": resource.MustParse("1")}}
		}, []string{
			`spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified`,
			`spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers`,
		}},
		{"probe with two handlers", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}}, TCPSocket: &corev1.TCPSocketAction{}}, SuccessThreshold: 1}
		}, []string{
			`spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type`,
		}},
		{"liveness successThreshold must be 1", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, SuccessThreshold: 2}
		}, []string{`spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1`}},
		{"restartPolicy and dnsPolicy values", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = "Sometimes"
			p.Spec.DNSPolicy = "Google"
		}, []string{
			`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
			`spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`,
		}},
		{"activeDeadlineSeconds must be positive", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr[int64](0) },
			[]string{`spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive`}},
		{"node affinity operators", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{
						{Key: "zone", Operator: corev1.NodeSelectorOpIn},
						{Key: "gpu", Operator: corev1.NodeSelectorOpExists, Values: []string{"x"}},
						{Key: "cores", Operator: corev1.NodeSelectorOpGt, Values: []string{"1", "2"}},
					},
					MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.labels", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}},
				}},
			}}}
		}, []string{
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[2].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
			`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key: Invalid value: "metadata.labels": not a valid field selector key`,
		}},
		{"env fieldRef path not supported", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "L", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}}}}
		}, []string{`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"`}},
		{"env var name may not contain '='", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}}
		}, []string{`spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`}},
		{"nodeSelector value syntax", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd!"} },
			[]string{`spec.nodeSelector: Invalid value: "ssd!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		{"priorityClassName syntax", func(p *corev1.Pod) { p.Spec.PriorityClassName = "High_Prio" },
			[]string{`spec.priorityClassName: Invalid value: "High_Prio": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"ephemeral containers cannot be set on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
		}, []string{`spec.ephemeralContainers: Forbidden: cannot be set on create`}},
		{"image whitespace rejected on pods", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			[]string{`spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace`}},
		{"finalizer must be qualified", func(p *corev1.Pod) { p.Finalizers = []string{"cleanup"} },
			[]string{`metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified`}},
	}
	for _, tc := range cases {
		pod := validPod()
		tc.mutate(pod)
		checkErrors(t, tc.name, tc.want, ValidatePod(pod))
	}
}

func TestValidatePodUpdate(t *testing.T) {
	forbidden := "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
	tol := corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr[int64](60)}
	cases := []struct {
		name   string
		old    func(p *corev1.Pod)
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"image may change", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }, nil},
		{"R20 tolerations may be appended", func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{tol} },
			func(p *corev1.Pod) {
				p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Operator: corev1.TolerationOpExists})
			}, nil},
		{"R20 tolerationSeconds may change", func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{tol} },
			func(p *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr[int64](5) }, nil},
		{"R20 existing toleration may not be modified", func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{tol} },
			func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "other" },
			[]string{`spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds`}},
		{"nodeSelector may not change", nil, func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"a": "b"} },
			[]string{forbidden + "changed: spec.nodeSelector"}},
		{"containers may not be added", nil, func(p *corev1.Pod) {
			c := p.Spec.Containers[0]
			c.Name = "two"
			p.Spec.Containers = append(p.Spec.Containers, c)
		}, []string{`spec.containers: Forbidden: pod updates may not add or remove containers`}},
		{"activeDeadlineSeconds may only shrink", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr[int64](10) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr[int64](20) },
			[]string{`spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value`}},
	}
	for _, tc := range cases {
		oldPod := validPod()
		oldPod.ResourceVersion = "3"
		if tc.old != nil {
			tc.old(oldPod)
		}
		newPod := oldPod.DeepCopy()
		tc.mutate(newPod)
		checkErrors(t, tc.name, tc.want, ValidatePodUpdate(newPod, oldPod))
	}
}

func TestValidatePodStatusUpdate(t *testing.T) {
	oldPod := validPod()
	oldPod.ResourceVersion = "3"
	oldPod.Spec.RestartPolicy = corev1.RestartPolicyNever
	oldPod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}
	newPod := oldPod.DeepCopy()
	newPod.Spec.NodeName = "node-1"
	newPod.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	newPod.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}
	checkErrors(t, "status update rules", []string{
		`status.nodeName: Forbidden: may not be changed directly`,
		`status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state`,
		`status.podIPs: Invalid value: [{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}]: may specify no more than one IP for each IP family`,
	}, ValidatePodStatusUpdate(newPod, oldPod))
}

func TestValidateBinding(t *testing.T) {
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Target: corev1.ObjectReference{Kind: "Pod"}}
	checkErrors(t, "binding target must be a named node", []string{
		`target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"`,
		`target.name: Required value`,
	}, ValidateBinding(b))
	b.Target = corev1.ObjectReference{Name: "node-1"}
	checkErrors(t, "binding with empty kind", nil, ValidateBinding(b))
}
