package daemonset

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	"github.com/everynode/everynode/internal/placement"
	"github.com/everynode/everynode/internal/testserver"
)

const testNS = "dstest"

// startCluster runs an API server and the controller until the test ends.
func startCluster(t *testing.T) kubernetes.Interface {
	t.Helper()
	client, _ := startController(t, controllerOptions{})
	return client
}

type controllerOptions struct {
	// informerTransport, if set, wraps the transport of the controller's
	// informers.
	informerTransport func(http.RoundTripper) http.RoundTripper
	// setup, if set, runs before the controller does.
	setup func(*Controller)
}

// startController is startCluster, also returning the running controller.
func startController(t *testing.T, o controllerOptions) (kubernetes.Interface, *Controller) {
	t.Helper()
	srv := testserver.Start(t)
	client := srv.Client
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	informerClient := client
	if o.informerTransport != nil {
		cfg := rest.CopyConfig(srv.Config)
		cfg.WrapTransport = o.informerTransport
		var err error
		if informerClient, err = kubernetes.NewForConfig(cfg); err != nil {
			t.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactory(informerClient, 0)
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "daemonset-controller"})
	c, err := New(Config{Client: client, Informers: factory, Recorder: recorder})
	if err != nil {
		t.Fatal(err)
	}
	if o.setup != nil {
		o.setup(c)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
		broadcaster.Shutdown()
	})
	return client, c
}

func createNode(t *testing.T, client kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := client.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func patchNode(t *testing.T, client kubernetes.Interface, name, patch string) {
	t.Helper()
	if _, err := client.CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch node %s with %s: %v", name, patch, err)
	}
}

func testDS(name, image string, mutate ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
	for _, m := range mutate {
		m(ds)
	}
	return ds
}

// livePods maps node name to the DaemonSet's non-terminating pods there.
func livePods(ctx context.Context, client kubernetes.Interface, app string) (map[string][]corev1.Pod, error) {
	list, err := client.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	out := map[string][]corev1.Pod{}
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if node, ok := placement.TargetNode(&p); ok {
			out[node] = append(out[node], p)
		}
	}
	return out, nil
}

func nodeSet(m map[string][]corev1.Pod) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// markReady plays the agent: every not-yet-ready pod becomes Running and Ready.
func markReady(ctx context.Context, client kubernetes.Interface, app string) error {
	list, err := client.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return err
	}
	for i := range list.Items {
		p := &list.Items[i]
		if p.DeletionTimestamp != nil || podReady(p) {
			continue
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
		if _, err := client.CoreV1().Pods(testNS).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("mark pod %s ready: %w", p.Name, err)
		}
	}
	return nil
}

func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok && err == nil, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)", what, err, last)
	}
}

// waitStatus waits for the DaemonSet's counters and full observation.
func waitStatus(t *testing.T, client kubernetes.Interface, name string, want Counters) {
	t.Helper()
	var got Counters
	waitFor(t, fmt.Sprintf("status %+v", want), func(ctx context.Context) (bool, error) {
		ds, err := client.AppsV1().DaemonSets(testNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = countersOf(ds.Status)
		if got != want {
			return false, fmt.Errorf("status is %+v", got)
		}
		return ds.Status.ObservedGeneration >= ds.Generation, nil
	})
}

func waitNodes(t *testing.T, client kubernetes.Interface, app string, want ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("pods of %s on %v", app, want), func(ctx context.Context) (bool, error) {
		m, err := livePods(ctx, client, app)
		if err != nil {
			return false, err
		}
		got := nodeSet(m)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return false, fmt.Errorf("pods on %v", got)
		}
		for _, pods := range m {
			if len(pods) != 1 {
				return false, fmt.Errorf("%d pods on %s", len(pods), pods[0].Spec.NodeName)
			}
		}
		return true, nil
	})
}

func TestIntegrationPlacementAndStatus(t *testing.T) {
	client := startCluster(t)
	ctx := context.Background()
	w := map[string]string{"role": "w"}
	createNode(t, client, "n1", w)
	createNode(t, client, "n2", w)
	createNode(t, client, "n3", nil)
	ds := testDS("agent", "img:1", func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = w })
	if _, err := client.AppsV1().DaemonSets(testNS).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, client, "agent", "n1", "n2")
	waitStatus(t, client, "agent", Counters{Desired: 2, Current: 2, Unavailable: 2, Updated: 2})

	// R85/R86: shape of a created pod.
	m, err := livePods(ctx, client, "agent")
	if err != nil {
		t.Fatal(err)
	}
	pod := m["n1"][0]
	if pod.GenerateName != "agent-" || pod.Labels[templateGenerationLabel] != "1" || pod.Labels[appsv1.ControllerRevisionHashLabelKey] == "" {
		t.Errorf("R85 pod metadata: generateName %q labels %v", pod.GenerateName, pod.Labels)
	}
	if ref := metav1.GetControllerOf(&pod); ref == nil || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("R85 controller ref = %+v", ref)
	}
	if len(pod.Spec.Tolerations) != 6 || pod.Spec.NodeName != "" {
		t.Errorf("R50/R86 tolerations %v, nodeName %q", pod.Spec.Tolerations, pod.Spec.NodeName)
	}

	waitFor(t, "SuccessfulCreate events", func(ctx context.Context) (bool, error) {
		evs, err := client.CoreV1().Events(testNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == EventSuccessfulCreate && e.InvolvedObject.Name == "agent" && strings.HasPrefix(e.Message, "Created pod: agent-") {
				return true, nil
			}
		}
		return false, nil
	})

	createNode(t, client, "n4", w)
	waitNodes(t, client, "agent", "n1", "n2", "n4")
	waitFor(t, "pods ready", func(ctx context.Context) (bool, error) { return true, markReady(ctx, client, "agent") })
	waitStatus(t, client, "agent", Counters{Desired: 3, Current: 3, Ready: 3, Available: 3, Updated: 3})

	// D1/R39: an untolerated NoSchedule taint keeps the pod, and status
	// follows at once (upstream would leave it stale).
	patchNode(t, client, "n1", `{"spec":{"taints":[{"key":"x","effect":"NoSchedule"}]}}`)
	waitStatus(t, client, "agent", Counters{Desired: 2, Current: 2, Misscheduled: 1, Ready: 2, Available: 2, Updated: 2})
	waitNodes(t, client, "agent", "n1", "n2", "n4")

	// R38c: an untolerated NoExecute taint removes the pod.
	patchNode(t, client, "n2", `{"spec":{"taints":[{"key":"x","effect":"NoExecute"}]}}`)
	waitNodes(t, client, "agent", "n1", "n4")
	waitStatus(t, client, "agent", Counters{Desired: 1, Current: 1, Misscheduled: 1, Ready: 1, Available: 1, Updated: 1})

	// R38c: the label goes, so does the pod.
	patchNode(t, client, "n4", `{"metadata":{"labels":{"role":null}}}`)
	waitNodes(t, client, "agent", "n1")
	waitStatus(t, client, "agent", Counters{Misscheduled: 1})

	// Removing the taint brings n2 back; the NoSchedule taint going away
	// turns n1 from misscheduled into desired.
	patchNode(t, client, "n2", `{"spec":{"taints":null}}`)
	patchNode(t, client, "n1", `{"spec":{"taints":null}}`)
	waitNodes(t, client, "agent", "n1", "n2")
	waitStatus(t, client, "agent", Counters{Desired: 2, Current: 2, Ready: 1, Available: 1, Unavailable: 1, Updated: 2})
}

// rolloutOrder updates the template and records, while playing the agent,
// the order in which nodes get a pod with the new hash; it also checks that
// no node ever has more than maxLive live pods.
func rolloutOrder(t *testing.T, client kubernetes.Interface, name string, mutate func(*appsv1.DaemonSet), maxLive int) []string {
	t.Helper()
	ctx := context.Background()
	ds, err := client.AppsV1().DaemonSets(testNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mutate(ds)
	ds, err = client.AppsV1().DaemonSets(testNS).Update(ctx, ds, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gen := ds.Annotations[templateGenerationAnnotation]
	var order []string
	seen := map[string]bool{}
	waitFor(t, "rollout of generation "+gen, func(ctx context.Context) (bool, error) {
		if err := markReady(ctx, client, name); err != nil {
			return false, err
		}
		m, err := livePods(ctx, client, name)
		if err != nil {
			return false, err
		}
		done := 0
		for _, node := range nodeSet(m) {
			if len(m[node]) > maxLive {
				t.Errorf("R200 %d live pods on %s", len(m[node]), node)
			}
			for _, p := range m[node] {
				if p.Labels[templateGenerationLabel] == gen {
					if !seen[node] {
						seen[node] = true
						order = append(order, node)
					}
					if len(m[node]) == 1 {
						done++
					}
				}
			}
		}
		return done == 3, nil
	})
	waitStatus(t, client, name, Counters{Desired: 3, Current: 3, Ready: 3, Available: 3, Updated: 3})
	return order
}

func TestIntegrationRollingUpdate(t *testing.T) {
	client := startCluster(t)
	ctx := context.Background()
	for _, n := range []string{"n3", "n1", "n2"} {
		createNode(t, client, n, nil)
	}
	if _, err := client.AppsV1().DaemonSets(testNS).Create(ctx, testDS("roll", "img:A"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, client, "roll", "n1", "n2", "n3")
	waitFor(t, "pods ready", func(ctx context.Context) (bool, error) { return true, markReady(ctx, client, "roll") })
	waitStatus(t, client, "roll", Counters{Desired: 3, Current: 3, Ready: 3, Available: 3, Updated: 3})

	order := rolloutOrder(t, client, "roll", func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.Containers[0].Image = "img:B" }, 1)
	if fmt.Sprint(order) != "[n1 n2 n3]" {
		t.Errorf("D2 maxUnavailable=1 rollout order = %v, want [n1 n2 n3]", order)
	}
	one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
	order = rolloutOrder(t, client, "roll", func(d *appsv1.DaemonSet) {
		d.Spec.Template.Spec.Containers[0].Image = "img:C"
		d.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &zero, MaxSurge: &one}
	}, 2)
	if fmt.Sprint(order) != "[n1 n2 n3]" {
		t.Errorf("D2 maxSurge=1 rollout order = %v, want [n1 n2 n3]", order)
	}
	revs, err := client.AppsV1().ControllerRevisions(testNS).List(ctx, metav1.ListOptions{LabelSelector: "app=roll"})
	if err != nil {
		t.Fatal(err)
	}
	numbers := map[int64]bool{}
	for _, r := range revs.Items {
		numbers[r.Revision] = true
	}
	if len(revs.Items) != 3 || !numbers[1] || !numbers[2] || !numbers[3] {
		t.Errorf("T9#1-2 revisions: %d items, numbers %v", len(revs.Items), numbers)
	}
}

// TestIntegrationOnDeleteAndUndo covers R101 (OnDelete leaves pods alone)
// and T9#4/R148 (undo reuses the old revision, renumbered, without
// restarting pods that already carry its hash).
func TestIntegrationOnDeleteAndUndo(t *testing.T) {
	client := startCluster(t)
	ctx := context.Background()
	for _, n := range []string{"n1", "n2", "n3"} {
		createNode(t, client, n, nil)
	}
	ds := testDS("od", "img:A", func(d *appsv1.DaemonSet) {
		d.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	})
	if _, err := client.AppsV1().DaemonSets(testNS).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, client, "od", "n1", "n2", "n3")
	waitFor(t, "pods ready", func(ctx context.Context) (bool, error) { return true, markReady(ctx, client, "od") })
	waitStatus(t, client, "od", Counters{Desired: 3, Current: 3, Ready: 3, Available: 3, Updated: 3})
	before, err := livePods(ctx, client, "od")
	if err != nil {
		t.Fatal(err)
	}
	revA := revisionWithNumber(t, client, "od", 1)

	cur, err := client.AppsV1().DaemonSets(testNS).Get(ctx, "od", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Template.Spec.Containers[0].Image = "img:B"
	if _, err := client.AppsV1().DaemonSets(testNS).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, client, "od", Counters{Desired: 3, Current: 3, Ready: 3, Available: 3})
	revisionWithNumber(t, client, "od", 2)

	// T8#13: deleting n2's pod brings a B pod there.
	if err := client.CoreV1().Pods(testNS).Delete(ctx, before["n2"][0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replacement on n2", func(ctx context.Context) (bool, error) {
		m, err := livePods(ctx, client, "od")
		if err != nil || len(m["n2"]) != 1 {
			return false, err
		}
		return m["n2"][0].Labels[templateGenerationLabel] == "2", nil
	})
	waitStatus(t, client, "od", Counters{Desired: 3, Current: 3, Ready: 2, Available: 2, Unavailable: 1, Updated: 1})

	// rollout undo: patch the revision's data back, as kubectl does.
	if _, err := client.AppsV1().DaemonSets(testNS).Patch(ctx, "od", types.StrategicMergePatchType, revA.Data.Raw, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "revision A renumbered to 3", func(ctx context.Context) (bool, error) {
		r, err := client.AppsV1().ControllerRevisions(testNS).Get(ctx, revA.Name, metav1.GetOptions{})
		return err == nil && r.Revision == 3, err
	})
	waitStatus(t, client, "od", Counters{Desired: 3, Current: 3, Ready: 2, Available: 2, Unavailable: 1, Updated: 2})
	after, err := livePods(ctx, client, "od")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"n1", "n3"} {
		if after[n][0].UID != before[n][0].UID {
			t.Errorf("R148 pod on %s restarted by undo", n)
		}
	}
}

func revisionWithNumber(t *testing.T, client kubernetes.Interface, app string, number int64) appsv1.ControllerRevision {
	t.Helper()
	var found appsv1.ControllerRevision
	waitFor(t, fmt.Sprintf("revision %d of %s", number, app), func(ctx context.Context) (bool, error) {
		revs, err := client.AppsV1().ControllerRevisions(testNS).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return false, err
		}
		for _, r := range revs.Items {
			if r.Revision == number {
				found = r
				return true, nil
			}
		}
		return false, nil
	})
	return found
}
