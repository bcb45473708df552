package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestRestart stops the server cleanly and by SIGKILL, starts it again on
// the same data dir and checks every object survived and watches resume.
func TestRestart(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		k.ok(nodeManifest("n1")+"---\n"+nodeManifest("n2"), "apply", "-f", "-")
		k.ok("", "taint", "nodes", "n1", "dedicated=gpu:NoSchedule")
		k.ok("", "create", "namespace", "team")
		k.ok(withNodeSelector(dsManifest("web", "nginx:1.27", "", "")), "apply", "-n", "team", "-f", "-")
		k.ok(podManifest("p1", "n1"), "apply", "-n", "team", "-f", "-")

		// everything is the sorted list of objects with their uid, so any
		// loss or re-creation shows. (resourceVersions are left out: once
		// controllers run they may legitimately write status meanwhile.)
		everything := func() []string {
			out := k.ok("", "get", "namespaces,nodes,daemonsets,pods", "-A",
				"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}@{.metadata.uid}{"\n"}{end}`)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			sort.Strings(lines)
			return lines
		}
		before := everything()
		// The pod was created after the DaemonSet, so after a restart this
		// revision is older than anything a fresh watch cache holds.
		dsCreatedRV := k.getDaemonSet("web", "-n", "team").ResourceVersion
		for _, want := range []string{"DaemonSet/team/web@", "Node//n1@", "Node//n2@", "Pod/team/p1@", "Namespace//team@"} {
			if !containsPrefix(before, want) {
				t.Fatalf("missing %s before restart in %v", want, before)
			}
		}

		k.c.stop()
		k.c.start()
		if diff := cmp.Diff(before, everything()); diff != "" {
			t.Fatalf("objects after SIGTERM + start (-want +got):\n%s", diff)
		}
		if taints := k.getNode("n1").Spec.Taints; len(taints) != 1 || taints[0].Key != "dedicated" {
			t.Errorf("n1 taints after restart: %+v", taints)
		}

		// The last resourceVersion a client saw before the crash: a list's.
		preCrash, err := k.clientset().AppsV1().DaemonSets("team").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lastRV := preCrash.ResourceVersion
		k.c.kill()
		k.c.start()
		if diff := cmp.Diff(before, everything()); diff != "" {
			t.Fatalf("objects after SIGKILL + start (-want +got):\n%s", diff)
		}

		// kubectl watch-only sees a change made after the restart. The
		// watch may not be established when the first change lands (it
		// would then be part of the initial list and not printed), so keep
		// changing until a MODIFIED line arrives. -L round shows the label
		// as the last column, telling our change apart from status writes.
		w, stop := k.startWatch("get", "ds", "-n", "team", "-w", "--output-watch-events", "--watch-only", "-L", "round")
		modified := regexp.MustCompile(`^MODIFIED\s+web\s.*\s\d+$`)
		for i := 0; ; i++ {
			k.ok("", "label", "ds", "web", "-n", "team", "--overwrite", fmt.Sprintf("round=%d", i))
			if waitForLine(w, modified, 2*time.Second) {
				break
			}
			if i == 10 {
				t.Fatalf("no MODIFIED line from kubectl get -w; lines:\n%s", strings.Join(w.snapshot(), "\n"))
			}
		}
		stop()

		// client-go watches. From the last resourceVersion seen before the
		// crash, upstream either replays the changes since or, when its
		// fresh watch cache starts past that revision (any write at
		// start-up does that), answers 410 Expired so the client relists;
		// nothing may be lost silently either way. From a resourceVersion
		// listed after the restart, the next change must arrive.
		cs := k.clientset()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		list, err := cs.AppsV1().DaemonSets("team").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fromCrash, err := cs.AppsV1().DaemonSets("team").Watch(ctx, metav1.ListOptions{ResourceVersion: lastRV})
		if err != nil {
			t.Fatalf("watch from pre-crash resourceVersion %s: %v", lastRV, err)
		}
		defer fromCrash.Stop()
		fromList, err := cs.AppsV1().DaemonSets("team").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			t.Fatalf("watch from resourceVersion %s: %v", list.ResourceVersion, err)
		}
		defer fromList.Stop()
		k.ok("", "label", "ds", "web", "-n", "team", "after=crash")

		got := collectDaemonSetEvents(ctx, t, fromList)
		want := fmt.Sprintf("MODIFIED after=crash round=%s", list.Items[0].Labels["round"])
		if diff := cmp.Diff(want, got[len(got)-1]); diff != "" {
			t.Errorf("watch from the post-restart list resourceVersion: last event (-want +got):\n%s\nall: %v", diff, got)
		}
		for _, ev := range got {
			// Anything before our change can only be a status write of the
			// listed state, never an older state.
			if !strings.HasPrefix(ev, "MODIFIED ") || !strings.HasSuffix(ev, " round="+list.Items[0].Labels["round"]) {
				t.Errorf("watch from the post-restart list resourceVersion replayed an older state: %v", got)
			}
		}

		got = collectDaemonSetEvents(ctx, t, fromCrash)
		if len(got) == 1 && strings.HasPrefix(got[0], "ERROR ") {
			// Upstream's watch cache words it "too old resource version: <asked> (<oldest>)".
			wantRE := regexp.MustCompile(`^ERROR 410 Expired too old resource version: ` + lastRV + ` \(\d+\)$`)
			if !wantRE.MatchString(got[0]) {
				t.Errorf("watch from pre-crash resourceVersion: got %q, want match of %s", got[0], wantRE)
			}
		} else if !slices.Contains(got, string(watch.Modified)+" after= round=0") {
			t.Errorf("watch from pre-crash resourceVersion %s did not replay from the first post-restart change: %v", lastRV, got)
		}

		tooOld, err := cs.AppsV1().DaemonSets("team").Watch(ctx, metav1.ListOptions{ResourceVersion: dsCreatedRV})
		if err != nil {
			t.Fatalf("watch from resourceVersion %s: %v", dsCreatedRV, err)
		}
		defer tooOld.Stop()
		got = collectDaemonSetEvents(ctx, t, tooOld)
		wantRE := regexp.MustCompile(`^ERROR 410 Expired too old resource version: ` + dsCreatedRV + ` \(\d+\)$`)
		if len(got) != 1 || !wantRE.MatchString(got[0]) {
			t.Errorf("watch from a resourceVersion older than the restart: got %q, want one event matching %s", got, wantRE)
		}
	})
}

// collectDaemonSetEvents reads events ("TYPE after=<label> round=<label>")
// until the one carrying label after=crash, or a single error event
// ("ERROR <code> <reason> <message>").
func collectDaemonSetEvents(ctx context.Context, t *testing.T, w watch.Interface) []string {
	t.Helper()
	var got []string
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed; events so far %v", got)
			}
			if st, isStatus := ev.Object.(*metav1.Status); ev.Type == watch.Error && isStatus {
				return append(got, fmt.Sprintf("ERROR %d %s %s", st.Code, st.Reason, st.Message))
			}
			ds, isDS := ev.Object.(*appsv1.DaemonSet)
			if !isDS {
				t.Fatalf("watch event %s with %T: %+v", ev.Type, ev.Object, ev.Object)
			}
			got = append(got, fmt.Sprintf("%s after=%s round=%s", ev.Type, ds.Labels["after"], ds.Labels["round"]))
			if ds.Labels["after"] == "crash" {
				return got
			}
		case <-ctx.Done():
			t.Fatalf("no event for the post-restart change; events so far %v", got)
		}
	}
}

// clientset is a client-go clientset for the server's current address.
func (k *kc) clientset() *kubernetes.Clientset {
	k.t.Helper()
	k.c.mu.Lock()
	kubeconfig := k.c.kubeconfig
	k.c.mu.Unlock()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		k.t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		k.t.Fatal(err)
	}
	return cs
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// waitForLine reports whether a line matching re arrives within d.
func waitForLine(w *watcher, re *regexp.Regexp, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, l := range w.snapshot() {
			if re.MatchString(l) {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
