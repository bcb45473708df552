package daemonset

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/everynode/everynode/internal/placement"
)

func TestArrivals(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "ns", UID: "u1", Generation: 3}}
	tests := []struct {
		name     string
		added    []string
		remember *appsv1.DaemonSet // the DaemonSet a full sync saw, if any
		want     []string
		wantHash bool
	}{
		{name: "nothing recorded"},
		{name: "sorted without repeats", added: []string{"n2", "n1", "n2"}, want: []string{"n1", "n2"}},
		{name: "hash of the generation a full sync saw", remember: ds, wantHash: true},
		{name: "not for a newer generation", remember: withMeta(ds, "u1", 2)},
		{name: "not for a DaemonSet of the same name recreated", remember: withMeta(ds, "u0", 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newArrivals()
			for _, n := range tc.added {
				a.add("ns/ds", n)
			}
			if tc.remember != nil {
				a.remember("ns/ds", tc.remember, "h1")
			}
			if got := a.take("ns/ds"); !slices.Equal(got, tc.want) {
				t.Errorf("take = %v, want %v", got, tc.want)
			}
			if got := a.take("ns/ds"); len(got) != 0 {
				t.Errorf("second take = %v, want nothing", got)
			}
			if hash, ok := a.hash("ns/ds", ds); ok != tc.wantHash || (ok && hash != "h1") {
				t.Errorf("hash = %q, %v; want found %v", hash, ok, tc.wantHash)
			}
			a.forget("ns/ds")
			if _, ok := a.hash("ns/ds", ds); ok {
				t.Error("hash found after forget")
			}
		})
	}
}

func withMeta(ds *appsv1.DaemonSet, uid types.UID, generation int64) *appsv1.DaemonSet {
	out := ds.DeepCopy()
	out.UID, out.Generation = uid, generation
	return out
}

// TestIntegrationArrivalsWhilePaced: with every full sync of the DaemonSet
// held back by the pacer, a node that joins or comes to match still gets its
// daemon pod at once, and a node with an orphan the DaemonSet would adopt
// gets no second pod.
func TestIntegrationArrivalsWhilePaced(t *testing.T) {
	client, c := startController(t, controllerOptions{})
	ctx := context.Background()
	w := map[string]string{"role": "w"}
	createNode(t, client, "n1", w)
	ds := testDS("fast", "img:1", func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = w })
	if _, err := client.AppsV1().DaemonSets(testNS).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, client, "fast", "n1")
	waitStatus(t, client, "fast", Counters{Desired: 1, Current: 1, Unavailable: 1, Updated: 1})

	// An hour of sync time spent: full syncs now wait for hours.
	now := time.Now()
	c.pace.done(testNS+"/fast", now, now.Add(time.Hour))

	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: testNS, Labels: map[string]string{"app": "fast"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:0"}}},
	}
	placement.PinToNode(&orphan.Spec, "n3")
	if _, err := client.CoreV1().Pods(testNS).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createNode(t, client, "n2", w)
	createNode(t, client, "n3", w)
	createNode(t, client, "n4", nil)
	patchNode(t, client, "n4", `{"metadata":{"labels":{"role":"w"}}}`)
	waitFor(t, "pods on n2 and n4, the orphan alone on n3", func(ctx context.Context) (bool, error) {
		m, err := livePods(ctx, client, "fast")
		if err != nil {
			return false, err
		}
		got := fmt.Sprint(len(m["n1"]), len(m["n2"]), len(m["n3"]), len(m["n4"]))
		if got != "1 1 1 1" {
			return false, fmt.Errorf("pods on n1..n4: %s", got)
		}
		if m["n3"][0].Name != "orphan" {
			return false, fmt.Errorf("n3 has %s", m["n3"][0].Name)
		}
		return true, nil
	})
	// The full syncs are still held back: the status has not moved, and the
	// orphan is not adopted yet.
	cur, err := client.AppsV1().DaemonSets(testNS).Get(ctx, "fast", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cur.Status.DesiredNumberScheduled != 1 {
		t.Errorf("desired = %d: a full sync ran, the test proves nothing", cur.Status.DesiredNumberScheduled)
	}
	m, err := livePods(ctx, client, "fast")
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"n2", "n4"} {
		if p := m[node][0]; p.Labels[appsv1.ControllerRevisionHashLabelKey] != m["n1"][0].Labels[appsv1.ControllerRevisionHashLabelKey] {
			t.Errorf("pod on %s has hash %q, the one on n1 %q", node, p.Labels[appsv1.ControllerRevisionHashLabelKey], m["n1"][0].Labels[appsv1.ControllerRevisionHashLabelKey])
		}
	}
}

// listThenWait is a pod lister whose lists, made while the DaemonSet's
// own writes are unobserved, return only once they have been observed, with
// what was read before: the add event of a pod just created comes in while
// a sync lists pods.
type listThenWait struct {
	corelisters.PodLister
	c   *Controller
	key string
}

func (l listThenWait) Pods(ns string) corelisters.PodNamespaceLister {
	return listThenWaitNS{l.PodLister.Pods(ns), l}
}

type listThenWaitNS struct {
	corelisters.PodNamespaceLister
	l listThenWait
}

func (n listThenWaitNS) List(sel labels.Selector) ([]*corev1.Pod, error) {
	pods, err := n.PodNamespaceLister.List(sel)
	for deadline := time.Now().Add(10 * time.Second); !n.l.c.expectations.satisfied(n.l.key) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return pods, err
}

// slowPodWatch delays what pod watches deliver, so that a sync which has
// just created a pod lists pods before its add event is observed.
type slowPodWatch struct{ next http.RoundTripper }

func (s slowPodWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err == nil && req.URL.Query().Get("watch") == "true" && strings.HasSuffix(req.URL.Path, "/pods") {
		resp.Body = slowBody{resp.Body}
	}
	return resp, err
}

type slowBody struct{ io.ReadCloser }

func (b slowBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		time.Sleep(200 * time.Millisecond)
	}
	return n, err
}

// TestIntegrationNoDuplicateAfterArrival: the full sync right after an
// arrival's pod was created must not create it again when the pod's add
// event comes in between its pod list and its look at expectations.
func TestIntegrationNoDuplicateAfterArrival(t *testing.T) {
	client, _ := startController(t, controllerOptions{
		informerTransport: func(rt http.RoundTripper) http.RoundTripper { return slowPodWatch{rt} },
		setup:             func(c *Controller) { c.podLister = listThenWait{c.podLister, c, testNS + "/dup"} },
	})
	ctx := context.Background()
	createNode(t, client, "n1", nil)
	if _, err := client.AppsV1().DaemonSets(testNS).Create(ctx, testDS("dup", "img:1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, client, "dup", "n1")
	waitStatus(t, client, "dup", Counters{Desired: 1, Current: 1, Unavailable: 1, Updated: 1})

	w, err := client.CoreV1().Pods(testNS).Watch(ctx, metav1.ListOptions{LabelSelector: "app=dup"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	createNode(t, client, "n2", nil)
	waitStatus(t, client, "dup", Counters{Desired: 2, Current: 2, Unavailable: 2, Updated: 2})
	waitNodes(t, client, "dup", "n1", "n2")
	created := 0
	for done := false; !done; {
		select {
		case ev := <-w.ResultChan():
			if pod, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
				if node, _ := placement.TargetNode(pod); node == "n2" {
					created++
				}
			}
		case <-time.After(time.Second):
			done = true
		}
	}
	if created != 1 {
		t.Errorf("%d pods created for the node that joined, want 1", created)
	}
}
