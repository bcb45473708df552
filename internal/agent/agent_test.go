package agent

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/everynode/everynode/internal/auth"
	"github.com/everynode/everynode/internal/testserver"
)

// nodeClient is a real node credential for node name.
func nodeClient(t *testing.T, srv *testserver.Server, name string) kubernetes.Interface {
	t.Helper()
	cert, key, err := srv.CA.IssueClient(auth.NodeUserName(name), []string{auth.GroupNodes})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(srv.Config)
	cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData = cert, key
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startAgent runs an agent until the returned stop is called (or the test
// ends).
func startAgent(t *testing.T, srv *testserver.Server, r *memRunner, name string, mutate func(*Config)) (*Agent, func()) {
	t.Helper()
	cfg := Config{
		Client: nodeClient(t, srv, name), NodeName: name, Runner: r, DataDir: t.TempDir(),
		Address: "127.0.0.1", ServerCA: srv.CA.CertPEM,
		Labels:        map[string]string{"disk": "ssd"},
		Taints:        []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}},
		Host:          &HostInfo{Hostname: name, OSImage: "Test OS", KernelVersion: "6.0", OperatingSystem: "linux", Architecture: "amd64", CPUs: 2, MemoryBytes: 4 << 30},
		LeaseDuration: time.Second, SyncFrequency: 100 * time.Millisecond, StatusUpdateFrequency: 200 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return a, stop
}

func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func podOn(node, name string, c corev1.Container, policy corev1.RestartPolicy) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: node, RestartPolicy: policy, Containers: []corev1.Container{c},
			TerminationGracePeriodSeconds: new(int64(5)),
			Tolerations:                   []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}},
	}
}

func condition(conds []corev1.PodCondition, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range conds {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func TestAgentRegistersAndHeartbeats(t *testing.T) {
	srv := testserver.Start(t)
	_, _ = startAgent(t, srv, newMemRunner(), "n1", nil)
	ctx := context.Background()
	var node *corev1.Node
	poll(t, "node Ready", func(ctx context.Context) (bool, error) {
		n, err := srv.Client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		node = n
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, err
	})
	wantLabels := map[string]string{"disk": "ssd", "kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
	if diff := cmp.Diff(wantLabels, node.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	wantTaints := []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	if diff := cmp.Diff(wantTaints, node.Spec.Taints); diff != "" {
		t.Errorf("taints (-want +got):\n%s", diff)
	}
	wantAddrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: "n1"}}
	if diff := cmp.Diff(wantAddrs, node.Status.Addresses); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	got := map[string]string{
		"cpu": node.Status.Capacity.Cpu().String(), "memory": node.Status.Capacity.Memory().String(),
		"pods": node.Status.Allocatable.Pods().String(), "kubelet": node.Status.NodeInfo.KubeletVersion,
		"runtime": node.Status.NodeInfo.ContainerRuntimeVersion, "os": node.Status.NodeInfo.OSImage,
	}
	want := map[string]string{"cpu": "2", "memory": "4Gi", "pods": "110", "kubelet": DefaultVersion, "runtime": "process://0.1.0", "os": "Test OS"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capacity and nodeInfo (-want +got):\n%s", diff)
	}
	if node.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 {
		t.Errorf("kubelet endpoint port not set")
	}

	// R60: the Lease is held by the node and renewed.
	var first time.Time
	poll(t, "lease", func(ctx context.Context) (bool, error) {
		l, err := srv.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, "n1", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if *l.Spec.HolderIdentity != "n1" || *l.Spec.LeaseDurationSeconds != 1 {
			t.Fatalf("lease spec: holder %q duration %d", *l.Spec.HolderIdentity, *l.Spec.LeaseDurationSeconds)
		}
		first = l.Spec.RenewTime.Time
		return true, nil
	})
	poll(t, "lease renewal", func(ctx context.Context) (bool, error) {
		l, err := srv.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, "n1", metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime.After(first), err
	})
	_ = ctx
}

func TestAgentRunsAndStopsPod(t *testing.T) {
	srv := testserver.Start(t)
	r := newMemRunner()
	startAgent(t, srv, r, "n1", nil)
	ctx := context.Background()
	c := corev1.Container{Name: "app", Image: "busybox", Command: []string{"sleep", "$(WHERE)"},
		Env: []corev1.EnvVar{
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "WHERE", Value: "on-$(NODE)"},
		}}
	if _, err := srv.Client.CoreV1().Pods("default").Create(ctx, podOn("n1", "web", c, corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	poll(t, "pod Running and Ready", func(ctx context.Context) (bool, error) {
		p, err := srv.Client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		pod = p
		return err == nil && p.Status.Phase == corev1.PodRunning && condition(p.Status.Conditions, corev1.PodReady) == corev1.ConditionTrue, err
	})
	if len(pod.Status.ContainerStatuses) != 1 {
		t.Fatalf("container statuses: %+v", pod.Status.ContainerStatuses)
	}
	cs := pod.Status.ContainerStatuses[0]
	got := []string{cs.Name, strconv.FormatBool(cs.Ready), strconv.FormatBool(*cs.Started), strconv.Itoa(int(cs.RestartCount)),
		strings.SplitN(cs.ContainerID, "://", 2)[0], strconv.FormatBool(cs.State.Running != nil), pod.Status.PodIP, pod.Status.HostIP}
	want := []string{"app", "true", "true", "0", "process", "true", "127.0.0.1", "127.0.0.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	r.mu.Lock()
	gotCmd := r.starts[0].Command
	r.mu.Unlock()
	if diff := cmp.Diff([]string{"sleep", "on-n1"}, gotCmd); diff != "" {
		t.Errorf("command after $(VAR) expansion (-want +got):\n%s", diff)
	}

	if err := srv.Client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "pod gone", func(ctx context.Context) (bool, error) {
		_, err := srv.Client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if n := r.running(); n != 0 {
		t.Errorf("%d containers still running after the pod was deleted", n)
	}
}

func TestAgentCrashLoopBackOff(t *testing.T) {
	srv := testserver.Start(t)
	r := newMemRunner()
	startAgent(t, srv, r, "n1", nil)
	c := corev1.Container{Name: "crash", Image: "busybox", Command: []string{"fail"}}
	p, err := srv.Client.CoreV1().Pods("default").Create(context.Background(), podOn("n1", "crash", c, corev1.RestartPolicyAlways), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs corev1.ContainerStatus
	poll(t, "CrashLoopBackOff", func(ctx context.Context) (bool, error) {
		p, err := srv.Client.CoreV1().Pods("default").Get(ctx, "crash", metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 {
			return false, err
		}
		cs = p.Status.ContainerStatuses[0]
		return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff", nil
	})
	// The first crash restarts at once; the second waits 10s.
	wantMsg := "back-off 10s restarting failed container=crash pod=crash_default(" + string(p.UID) + ")"
	got := []string{cs.State.Waiting.Message, strconv.Itoa(int(cs.RestartCount)), cs.LastTerminationState.Terminated.Reason}
	if diff := cmp.Diff([]string{wantMsg, "1", "Error"}, got); diff != "" {
		t.Errorf("crash loop status (-want +got):\n%s", diff)
	}
	if n := r.startCount(); n != 2 {
		t.Errorf("started %d times, want 2 (first start and the immediate restart)", n)
	}
}

func TestAgentRestartAdoptsRunningContainers(t *testing.T) {
	srv := testserver.Start(t)
	r := newMemRunner()
	_, stop := startAgent(t, srv, r, "n1", nil)
	c := corev1.Container{Name: "app", Image: "busybox", Command: []string{"sleep", "inf"}}
	if _, err := srv.Client.CoreV1().Pods("default").Create(context.Background(), podOn("n1", "web", c, corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var before corev1.ContainerStatus
	poll(t, "pod Ready", func(ctx context.Context) (bool, error) {
		p, err := srv.Client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil || condition(p.Status.Conditions, corev1.PodReady) != corev1.ConditionTrue {
			return false, err
		}
		before = p.Status.ContainerStatuses[0]
		return true, nil
	})
	stop()
	r.mu.Lock()
	r.lists = 0
	r.mu.Unlock()

	// A new agent on the same runner: the node is the same node, the
	// container is adopted, not restarted.
	startAgent(t, srv, r, "n1", nil)
	poll(t, "node heartbeat from the new agent", func(ctx context.Context) (bool, error) {
		l, err := srv.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, "n1", metav1.GetOptions{})
		return err == nil && time.Since(l.Spec.RenewTime.Time) < 500*time.Millisecond, err
	})
	// Let the new agent sync the pod: touch it and wait for its status to
	// be rewritten by a full sync (a label change triggers one).
	p, err := srv.Client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels = map[string]string{"touched": "yes"}
	if _, err := srv.Client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The new agent relists every 100ms and syncs every pod each time.
	poll(t, "agent synced", func(ctx context.Context) (bool, error) { return r.listCalls() >= 10, nil })
	after, err := srv.Client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := r.startCount(); n != 1 {
		t.Errorf("container started %d times, want 1 (adopted)", n)
	}
	if diff := cmp.Diff(before, after.Status.ContainerStatuses[0]); diff != "" {
		t.Errorf("container status changed across the agent restart (-before +after):\n%s", diff)
	}
}

func TestAgentRejectsPodWithUntoleratedNoExecuteTaint(t *testing.T) {
	srv := testserver.Start(t)
	r := newMemRunner()
	startAgent(t, srv, r, "n1", func(c *Config) {
		c.Taints = []corev1.Taint{{Key: "maint", Effect: corev1.TaintEffectNoExecute}}
	})
	pod := podOn("n1", "bare", corev1.Container{Name: "app", Image: "busybox", Command: []string{"sleep"}}, corev1.RestartPolicyAlways)
	pod.Spec.Tolerations = nil
	if _, err := srv.Client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	poll(t, "pod rejected", func(ctx context.Context) (bool, error) {
		p, err := srv.Client.CoreV1().Pods("default").Get(ctx, "bare", metav1.GetOptions{})
		got = p
		return err == nil && p.Status.Phase == corev1.PodFailed, err
	})
	if diff := cmp.Diff("TaintToleration", got.Status.Reason); diff != "" {
		t.Errorf("R75 reason (-want +got):\n%s", diff)
	}
	if r.startCount() != 0 {
		t.Errorf("rejected pod was started")
	}
}

func TestAgentServesLogs(t *testing.T) {
	srv := testserver.Start(t)
	r := newMemRunner()
	a, _ := startAgent(t, srv, r, "n1", nil)
	c := corev1.Container{Name: "app", Image: "busybox", Command: []string{"sleep"}}
	if _, err := srv.Client.CoreV1().Pods("default").Create(context.Background(), podOn("n1", "web", c, corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "pod running", func(ctx context.Context) (bool, error) {
		p, err := srv.Client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	// Through the API server, as kubectl logs does.
	out, err := srv.Client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("logs through the server: %v", err)
	}
	if diff := cmp.Diff("hello from app attempt 0\n", string(out)); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	// A client that is not an administrator is refused.
	cert, key, err := srv.CA.IssueClient(auth.NodeUserName("n2"), []string{auth.GroupNodes})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, InsecureSkipVerify: true}}}
	resp, err := hc.Get("https://127.0.0.1:" + strconv.Itoa(a.LogPort()) + "/containerLogs/default/web/app")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("node credential reading logs: status %d, want 403", resp.StatusCode)
	}
}
