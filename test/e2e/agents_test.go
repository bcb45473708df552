package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The shortened node-health timings the agents tests run the server and the
// agents with (upstream defaults: grace 50s, period 5s, 300s, status every
// 10s, lease 40s).
const (
	agentsGracePeriod       = 6 * time.Second
	agentsMonitorPeriod     = 1 * time.Second
	agentsDefaultToleration = 8 // seconds
	agentsStatusFrequency   = 1 * time.Second
	agentsLeaseSeconds      = 4
	// agentsTaintToleration is the tolerationSeconds of the pod that
	// tolerates the maintenance NoExecute taint for a while.
	agentsTaintToleration = 4 // seconds
	// agentsSlack is how late a timed action (node marked Unknown, an
	// eviction) may be on a busy 2-core machine.
	agentsSlack = 10 * time.Second
)

// TestAgents runs a server with shortened node-health timings and four real
// `everynode agent` processes (runtime process), and checks the node agent
// end to end (issue 4): a DaemonSet's pods run as host processes whose logs
// kubectl reads through the server; a killed agent's node becomes Unknown
// and tainted, its bare pod is evicted while its daemon pod stays, and the
// restarted agent carries on without restarting the daemon's container; a
// NoExecute taint evicts on time; a node credential cannot touch another
// node; a crashing container goes to CrashLoopBackOff.
//
// n1..n3 carry ticker=yes and run the "ticker" DaemonSet; n3's agent is the
// one killed; n4 is tainted; n1 also serves the credential and crash loop
// cases.
func TestAgents(t *testing.T) {
	t.Parallel()
	c := agentsStartServer(t)
	k := &kc{t: t, c: c, k: kubectls()[0]}
	cs := k.clientset()
	agents := map[string]*agentsAgent{}
	for _, name := range []string{"n1", "n2", "n3", "n4"} {
		labels := "ticker=yes"
		if name == "n4" {
			labels = "ticker=no"
		}
		agents[name] = agentsStartAgent(t, c, name, "--node-labels", labels)
	}
	for name := range agents {
		agentsWaitNodeReady(t, cs, name, corev1.ConditionTrue, waitTimeout)
	}

	// The DaemonSet must be up on n1..n3 before n3's agent is killed.
	if !t.Run("DaemonSetRunsAsProcessesWithLogs", func(t *testing.T) {
		k := &kc{t: t, c: c, k: k.k}
		agentsDaemonSetRunsWithLogs(t, k, cs, agents)
	}) {
		t.Fatal("the ticker DaemonSet does not run; the other cases depend on it")
	}
	t.Run("group", func(t *testing.T) {
		t.Run("KilledAgentNodeUnreachableThenBack", func(t *testing.T) {
			t.Parallel()
			agentsUnreachable(t, &kc{t: t, c: c, k: k.k}, cs, agents["n3"])
		})
		t.Run("NoExecuteTaintEvictsOnTime", func(t *testing.T) {
			t.Parallel()
			agentsNoExecuteTaint(t, &kc{t: t, c: c, k: k.k}, cs)
		})
		t.Run("NodeCredentialCannotModifyOtherNode", func(t *testing.T) {
			t.Parallel()
			agentsNodeCredential(t, &kc{t: t, c: c, k: k.k}, cs, agents["n1"])
		})
		t.Run("CrashLoopBackOff", func(t *testing.T) {
			t.Parallel()
			agentsCrashLoop(t, &kc{t: t, c: c, k: k.k}, cs)
		})
	})
}

// agentsTickerDS runs one ticking shell loop per ticker=yes node, printing
// its node name first (downward API).
const agentsTickerDS = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ticker
spec:
  selector:
    matchLabels:
      app: ticker
  template:
    metadata:
      labels:
        app: ticker
    spec:
      nodeSelector:
        ticker: "yes"
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: busybox:1.36
        command: ["/bin/sh", "-c", "echo started $NODE_NAME; while true; do echo tick; sleep 1; done"]
        env:
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
`

func agentsDaemonSetRunsWithLogs(t *testing.T, k *kc, cs kubernetes.Interface, agents map[string]*agentsAgent) {
	k.ok(agentsTickerDS, "apply", "-f", "-")

	var pods map[string]corev1.Pod // by node
	eventually(t, "a Running and Ready ticker pod on each of n1, n2, n3", func() (bool, string) {
		var detail string
		pods, detail = agentsPodsByNode(t, cs, "app=ticker")
		if len(pods) != 3 {
			return false, detail
		}
		for _, node := range []string{"n1", "n2", "n3"} {
			p, ok := pods[node]
			if !ok || !agentsPodRunningReady(p) {
				return false, detail
			}
		}
		return true, ""
	})
	eventually(t, "DaemonSet status counts 3 scheduled and ready", func() (bool, string) {
		ds := k.getDaemonSet("ticker")
		st := ds.Status
		got := []int32{st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberReady, st.NumberMisscheduled}
		return cmp.Equal([]int32{3, 3, 3, 0}, got), fmt.Sprintf("[desired current ready misscheduled] = %v", got)
	})

	for node, pod := range pods {
		// A real host process: the shell the container runs, with the
		// downward-API environment, under the node's agent.
		proc := agentsContainerOf(t, agents[node].dataDir, pod.Name, "main")
		if !proc.alive() {
			t.Errorf("%s: container process %d is not running", pod.Name, proc.Pid)
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", proc.Pid))
		if got := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"); !cmp.Equal([]string{"/bin/sh", "-c"}, got[:min(2, len(got))]) {
			t.Errorf("%s: process %d runs %q, want the container's /bin/sh -c", pod.Name, proc.Pid, got)
		}
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", proc.Pid))
		if !strings.Contains("\x00"+string(environ), "\x00NODE_NAME="+node+"\x00") {
			t.Errorf("%s: process environment lacks NODE_NAME=%s: %q", pod.Name, node, environ)
		}
		if pod.Status.PodIP != pod.Status.HostIP || pod.Status.HostIP == "" {
			t.Errorf("%s: podIP %q hostIP %q, want the host's IP for both", pod.Name, pod.Status.PodIP, pod.Status.HostIP)
		}

		// kubectl logs goes through the server's pods/log proxy to the
		// node's agent; both kubectl binaries must read it.
		for _, kk := range kubectls() {
			kn := &kc{t: t, c: k.c, k: kk}
			eventually(t, kk.name+" kubectl logs "+pod.Name+" shows the start line and a tick", func() (bool, string) {
				out := kn.ok("", "logs", pod.Name)
				lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
				return len(lines) >= 2 && lines[0] == "started "+node && lines[1] == "tick", out
			})
		}
		if diff := cmp.Diff("tick\n", k.ok("", "logs", pod.Name, "--tail", "1")); diff != "" {
			t.Errorf("kubectl logs %s --tail 1 (-want +got):\n%s", pod.Name, diff)
		}
	}

	// -f streams: after the one line --tail 1 asks for, new ticks arrive
	// while kubectl keeps running.
	pod := pods["n2"]
	w, stop := k.startWatch("logs", "-f", pod.Name, "--tail", "1")
	eventually(t, "kubectl logs -f "+pod.Name+" streams new ticks", func() (bool, string) {
		lines := w.snapshot()
		return len(lines) >= 3, fmt.Sprintf("lines so far %q", lines)
	})
	stop()
	for _, l := range w.snapshot() {
		if l != "tick" {
			t.Errorf("kubectl logs -f --tail 1 printed %q, want only ticks", w.snapshot())
			break
		}
	}

	out := k.ok("", "get", "pods", "-l", "app=ticker", "-o", "wide")
	for node, pod := range pods {
		row := rowFields(t, out, pod.Name, 4)
		if diff := cmp.Diff([]string{pod.Name, "1/1", "Running", "0", "AGE", pod.Status.PodIP, node}, row[:7]); diff != "" {
			t.Errorf("kubectl get pods -o wide row of %s (-want +got):\n%s", pod.Name, diff)
		}
	}
}

// agentsBarePod is a pod bound to node running a sleep loop; extraSpec is
// spliced into its spec (indented by two spaces).
func agentsBarePod(name, node, extraSpec string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  nodeName: %s
  terminationGracePeriodSeconds: 2
%s  containers:
  - name: main
    image: busybox:1.36
    command: ["/bin/sh", "-c", "while true; do sleep 1; done"]
`, name, node, extraSpec)
}

func agentsUnreachable(t *testing.T, k *kc, cs kubernetes.Interface, a *agentsAgent) {
	node := a.name
	k.ok(agentsBarePod("bare-"+node, node, ""), "apply", "-f", "-")
	bare := agentsWaitPod(t, cs, "bare-"+node, "Running and Ready", agentsPodRunningReady)
	// DefaultTolerationSeconds admission (R69) gave it the shortened
	// tolerations; nothing else did.
	secs := int64(agentsDefaultToleration)
	wantTolerations := []corev1.Toleration{
		{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs},
		{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs},
	}
	if diff := cmp.Diff(wantTolerations, bare.Spec.Tolerations); diff != "" {
		t.Errorf("bare pod tolerations (-want +got):\n%s", diff)
	}

	pods, detail := agentsPodsByNode(t, cs, "app=ticker")
	daemon, ok := pods[node]
	if !ok {
		t.Fatalf("no ticker pod on %s: %s", node, detail)
	}
	if len(daemon.Status.ContainerStatuses) != 1 || daemon.Status.ContainerStatuses[0].State.Running == nil {
		t.Fatalf("ticker pod %s not running: %+v", daemon.Name, daemon.Status.ContainerStatuses)
	}
	daemonBefore := daemon.Status.ContainerStatuses[0]
	daemonProc := agentsContainerOf(t, a.dataDir, daemon.Name, "main")
	bareProc := agentsContainerOf(t, a.dataDir, bare.Name, "main")

	killedAt := time.Now()
	a.kill()
	if !daemonProc.alive() || !bareProc.alive() {
		t.Fatalf("killing the agent killed its containers: daemon alive %v, bare alive %v", daemonProc.alive(), bareProc.alive())
	}

	// R61/R62: silent for the grace period ⇒ Ready Unknown.
	agentsWaitNodeReady(t, cs, node, corev1.ConditionUnknown, agentsGracePeriod+agentsSlack)
	elapsed := time.Since(killedAt)
	t.Logf("node %s Unknown %v after its agent was killed", node, elapsed.Round(time.Millisecond))
	if elapsed < agentsGracePeriod-2*agentsStatusFrequency {
		t.Errorf("node %s marked Unknown %v after its agent died, before the %v grace period", node, elapsed.Round(time.Millisecond), agentsGracePeriod)
	}
	// R62: the health conditions say the kubelet went silent.
	n, err := cs.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var conds []string
	for _, c := range n.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	slices.Sort(conds)
	wantConds := []string{
		"DiskPressure=Unknown NodeStatusUnknown: Kubelet stopped posting node status.",
		"MemoryPressure=Unknown NodeStatusUnknown: Kubelet stopped posting node status.",
		"PIDPressure=Unknown NodeStatusUnknown: Kubelet stopped posting node status.",
		"Ready=Unknown NodeStatusUnknown: Kubelet stopped posting node status.",
	}
	if diff := cmp.Diff(wantConds, conds); diff != "" {
		t.Errorf("node %s conditions once Unknown (-want +got):\n%s", node, diff)
	}
	if status := rowFields(t, k.ok("", "get", "nodes"), node, 3)[1]; status != "NotReady" {
		t.Errorf("kubectl get nodes: %s STATUS %q, want NotReady", node, status)
	}
	// R63/R65: both unreachable taints.
	var noExecuteSeen time.Time
	agentsPoll(t, "node "+node+" has the unreachable NoSchedule and NoExecute taints", agentsSlack, func() (bool, string) {
		got := agentsSystemTaints(t, cs, node)
		return cmp.Equal([]string{"node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"}, got), fmt.Sprintf("taints %v", got)
	})
	noExecuteSeen = time.Now()

	// R66: every pod on the node marked not Ready, the daemon pod included.
	notReady := func(p corev1.Pod) bool { return agentsPodCondition(p, corev1.PodReady) == corev1.ConditionFalse }
	agentsWaitPod(t, cs, daemon.Name, "Ready=False", notReady)
	agentsWaitPod(t, cs, bare.Name, "Ready=False", notReady)

	// R69–R71: the bare pod leaves after its 8 s toleration; R74: the node
	// cannot confirm, so it stays Terminating.
	evicted := agentsWaitPodTimed(t, cs, bare.Name, "deletionTimestamp set", time.Duration(agentsDefaultToleration)*time.Second+agentsSlack,
		func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
	t.Logf("bare pod evicted %v after the unreachable:NoExecute taint was seen", evicted.Sub(noExecuteSeen).Round(time.Millisecond))
	if after := evicted.Sub(noExecuteSeen); after < time.Duration(agentsDefaultToleration-2)*time.Second {
		t.Errorf("bare pod evicted %v after the unreachable:NoExecute taint was seen, want about %ds", after.Round(time.Millisecond), agentsDefaultToleration)
	}

	// R70: the eviction says why, on the pod and in an event.
	evictedPod, err := cs.CoreV1().Pods("default").Get(context.Background(), bare.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := agentsPodConditionReason(*evictedPod, corev1.DisruptionTarget); got != "True DeletionByTaintManager" {
		t.Errorf("evicted pod's DisruptionTarget condition = %q, want True DeletionByTaintManager", got)
	}
	agentsPoll(t, "a TaintManagerEviction event for "+bare.Name, waitTimeout, func() (bool, string) {
		return agentsHasEvent(t, cs, bare.Name, "TaintManagerEviction", "Marking for deletion Pod default/"+bare.Name)
	})

	// R54: the daemon pod tolerates unreachable:NoExecute forever and is
	// kept; the bare pod is still there, terminating.
	got, err := cs.CoreV1().Pods("default").Get(context.Background(), daemon.Name, metav1.GetOptions{})
	if err != nil || got.UID != daemon.UID || got.DeletionTimestamp != nil {
		t.Errorf("daemon pod %s after the eviction window: err %v, uid %s (was %s), deletionTimestamp %v", daemon.Name, err, got.UID, daemon.UID, got.DeletionTimestamp)
	}
	if status := rowFields(t, k.ok("", "get", "pod", bare.Name), bare.Name, 4)[2]; status != "Terminating" {
		t.Errorf("kubectl get pod %s: STATUS %q, want Terminating while its node is unreachable", bare.Name, status)
	}

	// The agent comes back on the same data dir: same node, same
	// containers.
	a.start()
	agentsWaitNodeReady(t, cs, node, corev1.ConditionTrue, waitTimeout)
	agentsPoll(t, "node "+node+" loses both unreachable taints", agentsSlack, func() (bool, string) {
		got := agentsSystemTaints(t, cs, node)
		return len(got) == 0, fmt.Sprintf("taints %v", got)
	})
	after := agentsWaitPod(t, cs, daemon.Name, "Ready again", agentsPodRunningReady)
	if after.UID != daemon.UID {
		t.Errorf("daemon pod %s was replaced: uid %s, was %s", daemon.Name, after.UID, daemon.UID)
	}
	if diff := cmp.Diff(
		[]any{int32(0), daemonBefore.State.Running.StartedAt.UTC(), daemonBefore.ContainerID},
		[]any{after.Status.ContainerStatuses[0].RestartCount, after.Status.ContainerStatuses[0].State.Running.StartedAt.UTC(), after.Status.ContainerStatuses[0].ContainerID},
	); diff != "" {
		t.Errorf("daemon container [restartCount startedAt containerID] after the agent restart (-want +got):\n%s", diff)
	}
	procAfter := agentsContainerOf(t, a.dataDir, daemon.Name, "main")
	if procAfter.Pid != daemonProc.Pid || procAfter.PidStartTicks != daemonProc.PidStartTicks || !procAfter.alive() {
		t.Errorf("daemon container process: was pid %d (start %d), now pid %d (start %d, alive %v): it was restarted",
			daemonProc.Pid, daemonProc.PidStartTicks, procAfter.Pid, procAfter.PidStartTicks, procAfter.alive())
	}

	// The returning agent confirms the eviction: the pod finishes deleting
	// and its process is gone.
	agentsPoll(t, "the evicted bare pod finishes deletion", waitTimeout, func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), bare.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, fmt.Sprintf("err %v, pod %+v", err, p.Status)
	})
	agentsPoll(t, "the evicted bare pod's process is gone", waitTimeout, func() (bool, string) {
		return !bareProc.alive(), fmt.Sprintf("pid %d alive", bareProc.Pid)
	})
}

// agentsPinnedDS runs a pod on n4 only.
const agentsPinnedDS = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: pinned
spec:
  selector:
    matchLabels:
      app: pinned
  template:
    metadata:
      labels:
        app: pinned
    spec:
      nodeSelector:
        kubernetes.io/hostname: n4
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:1.36
        command: ["/bin/sh", "-c", "while true; do sleep 1; done"]
`

func agentsNoExecuteTaint(t *testing.T, k *kc, cs kubernetes.Interface) {
	const node = "n4"
	k.ok(agentsPinnedDS, "apply", "-f", "-")
	tolerating := fmt.Sprintf(`  tolerations:
  - key: maint
    operator: Equal
    value: x
    effect: NoExecute
    tolerationSeconds: %d
`, agentsTaintToleration)
	k.ok(agentsBarePod("tolerates-maint", node, tolerating)+"---\n"+agentsBarePod("intolerant", node, ""), "apply", "-f", "-")
	agentsWaitPod(t, cs, "tolerates-maint", "Running and Ready", agentsPodRunningReady)
	agentsWaitPod(t, cs, "intolerant", "Running and Ready", agentsPodRunningReady)
	var daemon corev1.Pod
	eventually(t, "the pinned DaemonSet's pod runs on n4", func() (bool, string) {
		pods, detail := agentsPodsByNode(t, cs, "app=pinned")
		daemon = pods[node]
		return len(pods) == 1 && agentsPodRunningReady(daemon), detail
	})

	taintedAt := time.Now()
	k.ok("", "taint", "node", node, "maint=x:NoExecute")

	// R70: no matching toleration ⇒ deleted at once.
	gone := agentsWaitDeleted(t, cs, "intolerant", agentsSlack)
	if d := gone.Sub(taintedAt); d > 3*time.Second {
		t.Errorf("intolerant pod deleted %v after the taint, want at once", d.Round(time.Millisecond))
	}
	// R38c: the node no longer fits the DaemonSet; its pod goes and is
	// not replaced while the taint stays.
	agentsWaitDeleted(t, cs, daemon.Name, agentsSlack)
	eventually(t, "the pinned DaemonSet wants no pod on the tainted node", func() (bool, string) {
		ds := k.getDaemonSet("pinned")
		return ds.Status.DesiredNumberScheduled == 0, fmt.Sprintf("status %+v", ds.Status)
	})

	// R71: the tolerating pod is deleted tolerationSeconds after the taint.
	evicted := agentsWaitDeleted(t, cs, "tolerates-maint", time.Duration(agentsTaintToleration)*time.Second+agentsSlack)
	t.Logf("intolerant pod deleted %v, tolerating pod %v after the taint", gone.Sub(taintedAt).Round(time.Millisecond), evicted.Sub(taintedAt).Round(time.Millisecond))
	if d := evicted.Sub(taintedAt); d < time.Duration(agentsTaintToleration-1)*time.Second {
		t.Errorf("tolerating pod deleted %v after the taint, before its %ds toleration ran out", d.Round(time.Millisecond), agentsTaintToleration)
	}

	// Still tainted, ≥ tolerationSeconds later: no new daemon pod.
	pods, detail := agentsPodsByNode(t, cs, "app=pinned")
	if p, ok := pods[node]; ok && p.DeletionTimestamp == nil {
		t.Errorf("the DaemonSet replaced its pod on the NoExecute-tainted node: %s", detail)
	}
	// Who deleted the daemon pod: the DaemonSet controller (R38c) or the
	// taint eviction controller (R70) may win the race; each says so in an
	// event.
	byDS, _ := agentsHasEvent(t, cs, "pinned", "SuccessfulDelete", "Deleted pod: "+daemon.Name)
	byTaint, _ := agentsHasEvent(t, cs, daemon.Name, "TaintManagerEviction", "Marking for deletion Pod default/"+daemon.Name)
	if !byDS && !byTaint {
		t.Errorf("no SuccessfulDelete event on the DaemonSet nor TaintManagerEviction event on pod %s", daemon.Name)
	}
	t.Logf("daemon pod deleted by: DaemonSet controller %v, taint eviction controller %v", byDS, byTaint)
	if ok, detail := agentsHasEvent(t, cs, "intolerant", "TaintManagerEviction", "Marking for deletion Pod default/intolerant"); !ok {
		t.Errorf("no TaintManagerEviction event for the intolerant pod: %s", detail)
	}

	k.ok("", "taint", "node", node, "maint=x:NoExecute-")
	eventually(t, "the DaemonSet runs a new pod on n4 once the taint is gone", func() (bool, string) {
		pods, detail := agentsPodsByNode(t, cs, "app=pinned")
		p, ok := pods[node]
		return ok && p.UID != daemon.UID && agentsPodRunningReady(p), detail
	})
}

func agentsNodeCredential(t *testing.T, k *kc, cs kubernetes.Interface, a *agentsAgent) {
	nodeKubeconfig := filepath.Join(a.dataDir, "node.kubeconfig")
	asNode := func(args ...string) result {
		return k.run("", append([]string{"--kubeconfig", nodeKubeconfig}, args...)...)
	}
	r := asNode("label", "node", "n2", "owner=n1")
	wantErr := `Error from server (Forbidden): nodes "n2" is forbidden: User "system:node:n1" cannot patch resource "nodes" in API group "" at the cluster scope`
	if r.code == 0 || !strings.HasPrefix(r.stderr, wantErr) {
		t.Errorf("node n1 labelling node n2: want a failure starting with %q, got %s", wantErr, r)
	}
	if got := k.getNode("n2").Labels["owner"]; got != "" {
		t.Errorf("node n2 got label owner=%q from n1's credential", got)
	}
	r = asNode("label", "node", "n1", "owner=n1")
	if diff := cmp.Diff(result{stdout: "node/n1 labeled\n"}, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("node n1 labelling itself (-want +got):\n%s", diff)
	}
	if got := k.getNode("n1").Labels["owner"]; got != "n1" {
		t.Errorf("node n1's label owner = %q after labelling itself, want n1", got)
	}
	// A node may not change its own taints after registration
	// (NodeRestriction), nor delete another node.
	for _, args := range [][]string{
		{"taint", "node", "n1", "self=x:NoSchedule"},
		{"delete", "node", "n2"},
	} {
		if r := asNode(args...); r.code == 0 || !strings.Contains(r.stderr, "Forbidden") {
			t.Errorf("node n1: kubectl %s: want Forbidden, got %s", strings.Join(args, " "), r)
		}
	}
	if _, err := cs.CoreV1().Nodes().Get(context.Background(), "n2", metav1.GetOptions{}); err != nil {
		t.Errorf("node n2 after n1 tried to delete it: %v", err)
	}
}

func agentsCrashLoop(t *testing.T, k *kc, cs kubernetes.Interface) {
	k.ok(`apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  nodeName: n1
  containers:
  - name: main
    image: busybox:1.36
    command: ["/bin/sh", "-c", "echo boom; exit 3"]
`, "apply", "-f", "-")
	// The first restart is immediate, the next waits 10 s: restartCount 1
	// and CrashLoopBackOff after the second exit.
	p := agentsWaitPod(t, cs, "crasher", "in CrashLoopBackOff after a restart", func(p corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) != 1 {
			return false
		}
		s := p.Status.ContainerStatuses[0]
		return s.RestartCount >= 1 && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff"
	})
	s := p.Status.ContainerStatuses[0]
	wantMsg := fmt.Sprintf("back-off 10s restarting failed container=main pod=crasher_default(%s)", p.UID)
	var last corev1.ContainerStateTerminated
	if s.LastTerminationState.Terminated != nil {
		last = *s.LastTerminationState.Terminated
	}
	if diff := cmp.Diff(
		[]any{wantMsg, int32(3), "Error", false, corev1.PodRunning, corev1.ConditionFalse},
		[]any{s.State.Waiting.Message, last.ExitCode, last.Reason, s.Ready, p.Status.Phase, agentsPodCondition(p, corev1.PodReady)},
	); diff != "" {
		t.Errorf("crasher [waiting message, last exit code, last reason, ready, phase, Ready] (-want +got):\n%s", diff)
	}
	row := rowFields(t, k.ok("", "get", "pod", "crasher"), "crasher", 4)
	if diff := cmp.Diff([]string{"crasher", "0/1", "CrashLoopBackOff"}, row[:3]); diff != "" {
		t.Errorf("kubectl get pod crasher (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("boom\n", k.ok("", "logs", "crasher", "--previous")); diff != "" {
		t.Errorf("kubectl logs crasher --previous (-want +got):\n%s", diff)
	}
}

// agentsStartServer starts `everynode server` with the shortened
// node-health timings on a fresh data dir, as startCluster does with the
// defaults; the process is killed when the test ends.
func agentsStartServer(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, dataDir: t.TempDir(), home: t.TempDir()}
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			t.Logf("server log:\n%s", c.serverLogs())
		}
	})
	cmd := exec.Command(everynodeBin, "server", "--data-dir", c.dataDir, "--listen", "127.0.0.1:0", "--unsafe-fast-etcd",
		"--node-monitor-grace-period", agentsGracePeriod.String(),
		"--node-monitor-period", agentsMonitorPeriod.String(),
		"--default-toleration-seconds", strconv.Itoa(agentsDefaultToleration))
	cmd.Env = append(os.Environ(), "HOME="+c.home)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	exited := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.logs.WriteString(line + "\n")
			c.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		err := cmd.Wait()
		c.mu.Lock()
		c.exitErr = err
		c.mu.Unlock()
		close(exited)
	}()
	select {
	case m := <-ready:
		c.mu.Lock()
		c.url, c.kubeconfig = m[1], m[2]
		c.mu.Unlock()
	case <-exited:
		t.Fatalf("server exited before serving: %v\n%s", c.exitErr, c.serverLogs())
	case <-time.After(startTimeout):
		t.Fatalf("server did not print its address within %v\n%s", startTimeout, c.serverLogs())
	}
	return c
}

// agentsAgent is one `everynode agent` child process with its data dir; it
// can be killed and started again on the same data dir.
type agentsAgent struct {
	t       *testing.T
	name    string
	dataDir string
	argv    []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   bytes.Buffer // stderr of every run
}

// agentsStartAgent joins a node named name with the server's join token.
// When the test ends the agent and every container it started (shims,
// container processes and their process groups) are killed, and the test
// fails if any is left.
func agentsStartAgent(t *testing.T, c *cluster, name string, extraArgs ...string) *agentsAgent {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(c.dataDir, "join-token"))
	if err != nil {
		t.Fatalf("join token: %v", err)
	}
	a := &agentsAgent{t: t, name: name, dataDir: t.TempDir()}
	a.argv = append([]string{everynodeBin, "agent",
		"--server", c.url, "--token", strings.TrimSpace(string(token)),
		"--node-name", name, "--data-dir", a.dataDir,
		"--node-status-update-frequency", agentsStatusFrequency.String(),
		"--node-lease-duration-seconds", strconv.Itoa(agentsLeaseSeconds),
	}, extraArgs...)
	t.Cleanup(func() {
		a.kill()
		if left := agentsKillContainers(a.dataDir); len(left) > 0 {
			t.Errorf("agent %s: processes left after cleanup: %v", name, left)
		}
		if t.Failed() {
			a.mu.Lock()
			t.Logf("agent %s log:\n%s", name, a.logs.String())
			a.mu.Unlock()
		}
	})
	a.start()
	return a
}

func (a *agentsAgent) start() {
	a.t.Helper()
	cmd := exec.Command(a.argv[0], a.argv[1:]...)
	cmd.Env = os.Environ()
	a.mu.Lock()
	defer a.mu.Unlock()
	cmd.Stdout = &agentsLockedWriter{mu: &a.mu, w: &a.logs}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start agent %s: %v", a.name, err)
	}
	exited := make(chan struct{})
	a.cmd, a.exited = cmd, exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
}

// kill sends SIGKILL to the agent (not to its containers, which run in
// their own sessions) and waits until it is gone.
func (a *agentsAgent) kill() {
	a.mu.Lock()
	cmd, exited := a.cmd, a.exited
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// agentsLockedWriter appends to w under mu.
type agentsLockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *agentsLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// agentsProc is what the process runner's shim records about a container
// in <agent data dir>/containers/<id>/state.json, with the pod it belongs
// to from spec.json.
type agentsProc struct {
	Dir            string
	PodName        string
	Container      string
	Attempt        int
	ShimPid        int
	ShimStartTicks uint64
	Pid            int
	PidStartTicks  uint64
	Exited         bool
}

// alive reports whether the container's process still runs (the same
// process: pid and start time both match).
func (p agentsProc) alive() bool {
	ticks, err := agentsStartTicks(p.Pid)
	return err == nil && p.Pid > 0 && ticks == p.PidStartTicks
}

// agentsContainers lists the containers the process runner recorded under
// an agent's data dir.
func agentsContainers(dataDir string) ([]agentsProc, error) {
	dirs, err := filepath.Glob(filepath.Join(dataDir, "containers", "*"))
	if err != nil {
		return nil, err
	}
	var procs []agentsProc
	for _, dir := range dirs {
		var spec struct {
			Spec struct {
				PodName string
				Name    string
				Attempt int
			}
		}
		p := agentsProc{Dir: dir}
		if data, err := os.ReadFile(filepath.Join(dir, "spec.json")); err == nil {
			if err := json.Unmarshal(data, &spec); err != nil {
				return nil, fmt.Errorf("%s/spec.json: %w", dir, err)
			}
		}
		p.PodName, p.Container, p.Attempt = spec.Spec.PodName, spec.Spec.Name, spec.Spec.Attempt
		data, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if errors.Is(err, os.ErrNotExist) {
			procs = append(procs, p)
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("%s/state.json: %w", dir, err)
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// agentsContainerOf returns the one live container process of a pod's
// container on an agent.
func agentsContainerOf(t *testing.T, dataDir, pod, container string) agentsProc {
	t.Helper()
	procs, err := agentsContainers(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var found []agentsProc
	for _, p := range procs {
		if p.PodName == pod && p.Container == container && !p.Exited {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one running container %s/%s under %s, got %+v (all: %+v)", pod, container, dataDir, found, procs)
	}
	return found[0]
}

// agentsKillContainers kills, with SIGKILL, every container process group
// and shim recorded under an agent's data dir and any process whose command
// line names the data dir, then waits until none is left; it returns what
// survived.
func agentsKillContainers(dataDir string) []string {
	var left []string
	deadline := time.Now().Add(stopTimeout)
	for {
		left = left[:0]
		procs, err := agentsContainers(dataDir)
		if err != nil {
			return []string{err.Error()}
		}
		for _, p := range procs {
			// The container first (its whole process group), so no
			// shim is left to report its death to.
			if p.Pid > 0 && agentsGroupAlive(p.Pid, p.PidStartTicks) {
				_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
				left = append(left, fmt.Sprintf("process group %d of %s", p.Pid, p.Dir))
			}
			if ticks, err := agentsStartTicks(p.ShimPid); err == nil && p.ShimPid > 0 && ticks == p.ShimStartTicks {
				_ = syscall.Kill(p.ShimPid, syscall.SIGKILL)
				left = append(left, fmt.Sprintf("shim %d of %s", p.ShimPid, p.Dir))
			}
		}
		for _, pid := range agentsPidsWithArg(dataDir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			left = append(left, fmt.Sprintf("process %d naming %s", pid, dataDir))
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// agentsGroupAlive reports whether the process group led by the container
// process pid still has members: the leader itself (same start time), or
// orphans left in the group after the leader died.
func agentsGroupAlive(pid int, startTicks uint64) bool {
	if ticks, err := agentsStartTicks(pid); err == nil {
		return ticks == startTicks
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		other, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := agentsStatFields(other); err == nil && len(f) > 2 && f[2] == strconv.Itoa(pid) {
			return true
		}
	}
	return false
}

// agentsPidsWithArg lists live processes with an argument containing s.
func agentsPidsWithArg(s string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a zombie
		}
		if bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// agentsStatFields returns the fields of /proc/<pid>/stat after the
// command name: [0] is the state, [2] the process group, [19] the start
// time in clock ticks.
func agentsStatFields(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) > 0 && f[0] == "Z" {
		return nil, fmt.Errorf("pid %d is a zombie", pid)
	}
	return f, nil
}

func agentsStartTicks(pid int) (uint64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("no pid")
	}
	f, err := agentsStatFields(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// agentsPoll polls cond every 100ms until it holds or timeout passes.
func agentsPoll(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s: %s", timeout, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// agentsWaitPodTimed waits until the pod satisfies cond and returns when
// it was first seen doing so.
func agentsWaitPodTimed(t *testing.T, cs kubernetes.Interface, name, what string, timeout time.Duration, cond func(corev1.Pod) bool) time.Time {
	t.Helper()
	var seen time.Time
	agentsPoll(t, "pod "+name+" "+what, timeout, func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if cond(*p) {
			seen = time.Now()
			return true, ""
		}
		return false, fmt.Sprintf("deletionTimestamp %v, status %+v", p.DeletionTimestamp, p.Status)
	})
	return seen
}

// agentsWaitDeleted waits until the pod is being deleted (deletionTimestamp
// set) or gone, and returns when it was first seen so.
func agentsWaitDeleted(t *testing.T, cs kubernetes.Interface, name string, timeout time.Duration) time.Time {
	t.Helper()
	var seen time.Time
	agentsPoll(t, "pod "+name+" deleted", timeout, func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil) {
			seen = time.Now()
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("status %+v", p.Status)
	})
	return seen
}

// agentsWaitPod waits until the pod satisfies cond and returns it.
func agentsWaitPod(t *testing.T, cs kubernetes.Interface, name, what string, cond func(corev1.Pod) bool) corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	agentsPoll(t, "pod "+name+" "+what, waitTimeout, func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod = *p
		return cond(pod), fmt.Sprintf("deletionTimestamp %v, status %+v", p.DeletionTimestamp, p.Status)
	})
	return pod
}

// agentsWaitNodeReady waits until the node's Ready condition has status
// want.
func agentsWaitNodeReady(t *testing.T, cs kubernetes.Interface, name string, want corev1.ConditionStatus, timeout time.Duration) {
	t.Helper()
	agentsPoll(t, fmt.Sprintf("node %s Ready=%s", name, want), timeout, func() (bool, string) {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == want, fmt.Sprintf("Ready %+v", c)
			}
		}
		return false, "no Ready condition"
	})
}

// agentsSystemTaints lists the node.kubernetes.io/ taints of a node as
// sorted key:effect strings.
func agentsSystemTaints(t *testing.T, cs kubernetes.Interface, name string) []string {
	t.Helper()
	n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, taint := range n.Spec.Taints {
		if strings.HasPrefix(taint.Key, "node.kubernetes.io/") {
			got = append(got, taint.Key+":"+string(taint.Effect))
		}
	}
	slices.Sort(got)
	return got
}

// agentsPodsByNode lists the pods matching selector by node; detail
// describes them for failure messages.
func agentsPodsByNode(t *testing.T, cs kubernetes.Interface, selector string) (map[string]corev1.Pod, string) {
	t.Helper()
	list, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	byNode := map[string]corev1.Pod{}
	var detail []string
	for _, p := range list.Items {
		// A live pod hides a terminating one on the same node.
		if old, ok := byNode[p.Spec.NodeName]; !ok || old.DeletionTimestamp != nil {
			byNode[p.Spec.NodeName] = p
		}
		detail = append(detail, fmt.Sprintf("%s on %q: phase %s ready %s deleting %v", p.Name, p.Spec.NodeName, p.Status.Phase,
			agentsPodCondition(p, corev1.PodReady), p.DeletionTimestamp != nil))
	}
	return byNode, fmt.Sprintf("pods %s: %v", selector, detail)
}

func agentsPodCondition(p corev1.Pod, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

// agentsPodConditionReason is "<status> <reason>" of a pod condition.
func agentsPodConditionReason(p corev1.Pod, typ corev1.PodConditionType) string {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return string(c.Status) + " " + c.Reason
		}
	}
	return ""
}

// agentsHasEvent reports whether an event in namespace default about
// object has this reason and message; detail lists the object's events.
func agentsHasEvent(t *testing.T, cs kubernetes.Interface, object, reason, message string) (bool, string) {
	t.Helper()
	evs, err := cs.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range evs.Items {
		if e.InvolvedObject.Name != object {
			continue
		}
		if e.Reason == reason && e.Message == message {
			return true, ""
		}
		seen = append(seen, e.Reason+": "+e.Message)
	}
	return false, fmt.Sprintf("events of %s: %q", object, seen)
}

func agentsPodRunningReady(p corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning &&
		agentsPodCondition(p, corev1.PodReady) == corev1.ConditionTrue &&
		len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
}
