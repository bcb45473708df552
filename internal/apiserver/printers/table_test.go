package printers

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	podGK       = schema.GroupKind{Kind: "Pod"}
	nodeGK      = schema.GroupKind{Kind: "Node"}
	eventGK     = schema.GroupKind{Kind: "Event"}
	eventsGK    = schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}
	namespaceGK = schema.GroupKind{Kind: "Namespace"}
	daemonSetGK = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}
	revisionGK  = schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}
	leaseGK     = schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}
	// Secrets have no printer of their own: the default convertor applies.
	defaultGK    = schema.GroupKind{Kind: "Secret"}
	goldenTables = []struct {
		name string
		gk   schema.GroupKind
		objs func() []runtime.Object
	}{
		{"pods", podGK, goldenPods},
		{"nodes", nodeGK, goldenNodes},
		{"events", eventGK, goldenEvents},
		{"namespaces", namespaceGK, goldenNamespaces},
		{"daemonsets", daemonSetGK, goldenDaemonSets},
		{"controllerrevisions", revisionGK, goldenControllerRevisions},
		{"leases", leaseGK, goldenLeases},
		{"default-secrets", defaultGK, goldenDefault},
		{"services", schema.GroupKind{Kind: "Service"}, goldenServices},
		{"serviceaccounts", schema.GroupKind{Kind: "ServiceAccount"}, goldenServiceAccounts},
		{"configmaps", schema.GroupKind{Kind: "ConfigMap"}, goldenConfigMaps},
	}
)

// TestGolden renders each kind's table twice: as the JSON the server sends
// (column definitions and typed cells) and as the text `kubectl get -o wide`
// shows, so a reviewer can read the output at a glance.
func TestGolden(t *testing.T) {
	for _, tc := range goldenTables {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := Rows(tc.gk, tc.objs(), now)
			if err != nil {
				t.Fatalf("Rows(%s): %v", tc.gk, err)
			}
			table := &metav1.Table{
				TypeMeta:          metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"},
				ColumnDefinitions: Columns(tc.gk),
				Rows:              rows,
			}
			js, err := json.MarshalIndent(table, "", "  ")
			if err != nil {
				t.Fatalf("marshal table: %v", err)
			}
			checkGolden(t, tc.name+".json", append(js, '\n'))
			checkGolden(t, tc.name+".txt", renderWide(table))
		})
	}
}

// renderWide lays a table out like kubectl's -o wide: every column, upper-case
// headers, cells separated by at least three spaces.
func renderWide(table *metav1.Table) []byte {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 8, 3, ' ', 0)
	headers := make([]string, len(table.ColumnDefinitions))
	for i, c := range table.ColumnDefinitions {
		headers[i] = strings.ToUpper(c.Name)
	}
	fmt.Fprintln(w, strings.Join(headers, "\t"))
	for _, r := range table.Rows {
		cells := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			cells[i] = fmt.Sprint(c)
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	w.Flush()
	return buf.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run with -update to create it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got); run with -update if intended:\n%s", path, diff)
	}
}

// TestRowsMatchColumns checks the invariant kubectl relies on: every row has
// exactly one cell per column, wide columns included.
func TestRowsMatchColumns(t *testing.T) {
	for _, tc := range goldenTables {
		rows, err := Rows(tc.gk, tc.objs(), now)
		if err != nil {
			t.Fatalf("Rows(%s): %v", tc.gk, err)
		}
		cols := len(Columns(tc.gk))
		for i, r := range rows {
			if len(r.Cells) != cols {
				t.Errorf("%s row %d: %d cells for %d columns", tc.name, i, len(r.Cells), cols)
			}
		}
	}
}

func TestColumns(t *testing.T) {
	type col struct {
		Name     string
		Priority int32
	}
	cases := []struct {
		gk   schema.GroupKind
		want []col
	}{
		{podGK, []col{{"Name", 0}, {"Ready", 0}, {"Status", 0}, {"Restarts", 0}, {"Age", 0}, {"IP", 1}, {"Node", 1}, {"Nominated Node", 1}, {"Readiness Gates", 1}}},
		{nodeGK, []col{{"Name", 0}, {"Status", 0}, {"Roles", 0}, {"Age", 0}, {"Version", 0}, {"Internal-IP", 1}, {"External-IP", 1}, {"OS-Image", 1}, {"Kernel-Version", 1}, {"Container-Runtime", 1}}},
		{namespaceGK, []col{{"Name", 0}, {"Status", 0}, {"Age", 0}}},
		{eventGK, []col{{"Last Seen", 0}, {"Type", 0}, {"Reason", 0}, {"Object", 0}, {"Subobject", 1}, {"Source", 1}, {"Message", 0}, {"First Seen", 1}, {"Count", 1}, {"Name", 1}}},
		{eventsGK, []col{{"Last Seen", 0}, {"Type", 0}, {"Reason", 0}, {"Object", 0}, {"Subobject", 1}, {"Source", 1}, {"Message", 0}, {"First Seen", 1}, {"Count", 1}, {"Name", 1}}},
		{daemonSetGK, []col{{"Name", 0}, {"Desired", 0}, {"Current", 0}, {"Ready", 0}, {"Up-to-date", 0}, {"Available", 0}, {"Node Selector", 0}, {"Age", 0}, {"Containers", 1}, {"Images", 1}, {"Selector", 1}}},
		{revisionGK, []col{{"Name", 0}, {"Controller", 0}, {"Revision", 0}, {"Age", 0}}},
		{leaseGK, []col{{"Name", 0}, {"Holder", 0}, {"Age", 0}}},
		{defaultGK, []col{{"Name", 0}, {"Created At", 0}}},
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, []col{{"Name", 0}, {"Created At", 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.gk.String(), func(t *testing.T) {
			var got []col
			for _, c := range Columns(tc.gk) {
				got = append(got, col{c.Name, c.Priority})
				if c.Description == "" {
					t.Errorf("column %q has no description", c.Name)
				}
				if (c.Format == "name") != (c.Name == "Name") {
					t.Errorf("column %q has format %q; only Name is formatted as a name", c.Name, c.Format)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Columns(%s) mismatch (-want +got):\n%s", tc.gk, diff)
			}
		})
	}
}

// podCells returns the READY, STATUS and RESTARTS cells of p.
func podCells(t *testing.T, p *corev1.Pod) []any {
	t.Helper()
	rows, err := Rows(podGK, []runtime.Object{p}, now)
	if err != nil {
		t.Fatalf("Rows(pod %s): %v", p.Name, err)
	}
	return rows[0].Cells[1:4]
}

func TestPodStatus(t *testing.T) {
	deleting := metav1.NewTime(now.Add(-time.Second))
	ready := []corev1.PodCondition{cond(corev1.PodReady, corev1.ConditionTrue)}
	cases := []struct {
		name string
		pod  *corev1.Pod
		want []any // READY, STATUS, RESTARTS
	}{
		{"running and ready", with(pod("p", corev1.PodRunning, readyRunning()), func(p *corev1.Pod) { p.Status.Conditions = ready }), []any{"1/1", "Running", "0"}},
		{"running but not ready container", pod("p", corev1.PodRunning, corev1.ContainerStatus{State: running()}), []any{"0/1", "Running", "0"}},
		{"pending without statuses shows the phase", pod("p", corev1.PodPending), []any{"0/1", "Pending", "0"}},
		{"waiting reason wins over phase", pod("p", corev1.PodPending, corev1.ContainerStatus{State: waiting("ContainerCreating")}), []any{"0/1", "ContainerCreating", "0"}},
		{"image pull backoff", pod("p", corev1.PodPending, corev1.ContainerStatus{State: waiting("ImagePullBackOff")}), []any{"0/1", "ImagePullBackOff", "0"}},
		{"crash loop with last restart age", pod("p", corev1.PodRunning, corev1.ContainerStatus{RestartCount: 7, State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerminatedAgo(3 * time.Minute)}), []any{"0/1", "CrashLoopBackOff", "7 (3m ago)"}},
		{"restarts without termination time have no suffix", pod("p", corev1.PodRunning, corev1.ContainerStatus{Ready: true, RestartCount: 2, State: running()}), []any{"1/1", "Running", "2"}},
		{"restarts summed over containers, latest restart shown", pod("p", corev1.PodRunning,
			corev1.ContainerStatus{Ready: true, RestartCount: 1, State: running(), LastTerminationState: lastTerminatedAgo(time.Hour)},
			corev1.ContainerStatus{Ready: true, RestartCount: 2, State: running(), LastTerminationState: lastTerminatedAgo(10 * time.Second)},
		), []any{"2/2", "Running", "3 (10s ago)"}},
		{"completed", pod("p", corev1.PodSucceeded, corev1.ContainerStatus{State: terminated("Completed", 0, 0)}), []any{"0/1", "Completed", "0"}},
		{"error", pod("p", corev1.PodFailed, corev1.ContainerStatus{State: terminated("Error", 1, 0)}), []any{"0/1", "Error", "0"}},
		{"OOMKilled", pod("p", corev1.PodRunning, corev1.ContainerStatus{State: terminated("OOMKilled", 137, 0)}), []any{"0/1", "OOMKilled", "0"}},
		{"terminated by signal without reason", pod("p", corev1.PodFailed, corev1.ContainerStatus{State: terminated("", 137, 9)}), []any{"0/1", "Signal:9", "0"}},
		{"terminated with exit code without reason", pod("p", corev1.PodFailed, corev1.ContainerStatus{State: terminated("", 2, 0)}), []any{"0/1", "ExitCode:2", "0"}},
		{"status reason wins over phase", with(pod("p", corev1.PodFailed), func(p *corev1.Pod) { p.Status.Reason = "Evicted" }), []any{"0/1", "Evicted", "0"}},
		{"scheduling gated", with(pod("p", corev1.PodPending), func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
		}), []any{"0/1", "SchedulingGated", "0"}},
		{"first container completed, other running and pod ready", with(pod("p", corev1.PodRunning,
			corev1.ContainerStatus{State: terminated("Completed", 0, 0)}, readyRunning(),
		), func(p *corev1.Pod) { p.Status.Conditions = ready }), []any{"1/2", "Running", "0"}},
		{"first container completed, other running, pod not ready", pod("p", corev1.PodRunning,
			corev1.ContainerStatus{State: terminated("Completed", 0, 0)}, readyRunning(),
		), []any{"1/2", "NotReady", "0"}},
		{"first container completed, other failed", pod("p", corev1.PodFailed,
			corev1.ContainerStatus{State: terminated("Completed", 0, 0)}, corev1.ContainerStatus{State: terminated("Error", 3, 0)},
		), []any{"0/2", "Error", "0"}},
		{"first container completed, other killed by signal", pod("p", corev1.PodFailed,
			corev1.ContainerStatus{State: terminated("Completed", 0, 0)}, corev1.ContainerStatus{State: terminated("", 143, 15)},
		), []any{"0/2", "Signal:15", "0"}},
		{"terminating", with(pod("p", corev1.PodRunning, readyRunning()), func(p *corev1.Pod) { p.DeletionTimestamp = &deleting }), []any{"1/1", "Terminating", "0"}},
		{"terminating pending pod", with(pod("p", corev1.PodPending, corev1.ContainerStatus{State: waiting("ContainerCreating")}), func(p *corev1.Pod) { p.DeletionTimestamp = &deleting }), []any{"0/1", "Terminating", "0"}},
		{"deleted succeeded pod keeps Completed", with(pod("p", corev1.PodSucceeded, corev1.ContainerStatus{State: terminated("Completed", 0, 0)}), func(p *corev1.Pod) { p.DeletionTimestamp = &deleting }), []any{"0/1", "Completed", "0"}},
		{"deleted failed pod keeps Error", with(pod("p", corev1.PodFailed, corev1.ContainerStatus{State: terminated("Error", 1, 0)}), func(p *corev1.Pod) { p.DeletionTimestamp = &deleting }), []any{"0/1", "Error", "0"}},
		{"deleted pod on lost node is Unknown", with(pod("p", corev1.PodRunning, readyRunning()), func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleting
			p.Status.Reason = "NodeLost"
		}), []any{"1/1", "Unknown", "0"}},
		{"NodeLost without deletion shows the reason", with(pod("p", corev1.PodRunning, readyRunning()), func(p *corev1.Pod) { p.Status.Reason = "NodeLost" }), []any{"1/1", "NodeLost", "0"}},
		{"init not started", withInit(pod("p", corev1.PodPending), 2, nil), []any{"0/1", "Pending", "0"}},
		{"init 0/2 running", withInit(pod("p", corev1.PodPending, corev1.ContainerStatus{State: waiting("PodInitializing")}), 2, nil,
			corev1.ContainerStatus{State: running()}, corev1.ContainerStatus{State: waiting("PodInitializing")},
		), []any{"0/1", "Init:0/2", "0"}},
		{"init 1/2 after first succeeded", withInit(pod("p", corev1.PodPending, corev1.ContainerStatus{State: waiting("PodInitializing")}), 2, nil,
			corev1.ContainerStatus{State: terminated("Completed", 0, 0)}, corev1.ContainerStatus{State: running()},
		), []any{"0/1", "Init:1/2", "0"}},
		{"init crash loop counts init restarts", withInit(pod("p", corev1.PodPending, corev1.ContainerStatus{State: waiting("PodInitializing")}), 1, nil,
			corev1.ContainerStatus{RestartCount: 4, State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerminatedAgo(20 * time.Second)},
		), []any{"0/1", "Init:CrashLoopBackOff", "4 (20s ago)"}},
		{"init failed with reason", withInit(pod("p", corev1.PodPending), 1, nil, corev1.ContainerStatus{State: terminated("Error", 1, 0)}), []any{"0/1", "Init:Error", "0"}},
		{"init failed by signal", withInit(pod("p", corev1.PodPending), 1, nil, corev1.ContainerStatus{State: terminated("", 137, 9)}), []any{"0/1", "Init:Signal:9", "0"}},
		{"init failed with exit code", withInit(pod("p", corev1.PodPending), 1, nil, corev1.ContainerStatus{State: terminated("", 3, 0)}), []any{"0/1", "Init:ExitCode:3", "0"}},
		{"finished init restarts are forgotten once initialized", withInit(pod("p", corev1.PodRunning, readyRunning()), 1, nil,
			corev1.ContainerStatus{RestartCount: 2, State: terminated("Completed", 0, 0), LastTerminationState: lastTerminatedAgo(time.Minute)},
		), []any{"1/1", "Running", "0"}},
		{"started sidecar counts as ready container", with(withInit(pod("p", corev1.PodRunning, readyRunning()), 1, []int{0},
			corev1.ContainerStatus{Ready: true, Started: ptr.To(true), State: running()},
		), func(p *corev1.Pod) { p.Status.Conditions = ready }), []any{"2/2", "Running", "0"}},
		{"sidecar restarts stay counted after init", with(withInit(pod("p", corev1.PodRunning, corev1.ContainerStatus{Ready: true, RestartCount: 1, State: running(), LastTerminationState: lastTerminatedAgo(time.Hour)}), 1, []int{0},
			corev1.ContainerStatus{Ready: false, Started: ptr.To(true), RestartCount: 2, State: running(), LastTerminationState: lastTerminatedAgo(2 * time.Minute)},
		), func(p *corev1.Pod) { p.Status.Conditions = ready }), []any{"1/2", "Running", "3 (2m ago)"}},
		{"sidecar not started blocks init", withInit(pod("p", corev1.PodPending, corev1.ContainerStatus{State: waiting("PodInitializing")}), 2, []int{0},
			corev1.ContainerStatus{Started: ptr.To(false), State: running()},
		), []any{"0/2", "Init:0/2", "0"}},
		{"initialized pod shows app container state despite a stale init status", with(withInit(pod("p", corev1.PodRunning, corev1.ContainerStatus{State: waiting("CrashLoopBackOff")}), 1, nil,
			corev1.ContainerStatus{State: waiting("PodInitializing")},
		), func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue)}
		}), []any{"0/1", "CrashLoopBackOff", "0"}},
		// Upstream quirk kept on purpose: a running app container does not
		// replace the stale init status.
		{"initialized pod with stale init status and running app keeps Init", with(withInit(pod("p", corev1.PodRunning, readyRunning()), 1, nil,
			corev1.ContainerStatus{State: waiting("PodInitializing")},
		), func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionTrue)}
		}), []any{"1/1", "Init:0/1", "0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, podCells(t, tc.pod)); diff != "" {
				t.Errorf("pod %q READY/STATUS/RESTARTS mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestPodRowConditions(t *testing.T) {
	cases := []struct {
		phase corev1.PodPhase
		want  []metav1.TableRowCondition
	}{
		{corev1.PodRunning, nil},
		{corev1.PodSucceeded, []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "The pod has completed successfully."}}},
		{corev1.PodFailed, []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Failed", Message: "The pod failed."}}},
	}
	for _, tc := range cases {
		rows, err := Rows(podGK, []runtime.Object{pod("p", tc.phase)}, now)
		if err != nil {
			t.Fatalf("Rows: %v", err)
		}
		if diff := cmp.Diff(tc.want, rows[0].Conditions); diff != "" {
			t.Errorf("phase %s: row conditions mismatch (-want +got):\n%s", tc.phase, diff)
		}
	}
}

func TestNodeStatusAndRoles(t *testing.T) {
	cases := []struct {
		name       string
		node       *corev1.Node
		wantStatus string
		wantRoles  string
	}{
		{"ready without roles", node("n", func(*corev1.Node) {}), "Ready", "<none>"},
		{"not ready", node("n", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }), "NotReady", "<none>"},
		{"ready unknown is NotReady", node("n", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionUnknown }), "NotReady", "<none>"},
		{"no Ready condition is Unknown", node("n", func(n *corev1.Node) {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}}
		}), "Unknown", "<none>"},
		{"cordoned", node("n", func(n *corev1.Node) { n.Spec.Unschedulable = true }), "Ready,SchedulingDisabled", "<none>"},
		{"cordoned and not ready", node("n", func(n *corev1.Node) {
			n.Spec.Unschedulable = true
			n.Status.Conditions[0].Status = corev1.ConditionFalse
		}), "NotReady,SchedulingDisabled", "<none>"},
		{"last Ready condition wins", node("n", func(n *corev1.Node) {
			n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse})
		}), "NotReady", "<none>"},
		{"roles from both label forms, sorted and unique", node("n", func(n *corev1.Node) {
			n.Labels = map[string]string{
				"node-role.kubernetes.io/worker":        "",
				"node-role.kubernetes.io/control-plane": "",
				"kubernetes.io/role":                    "worker",
				"node-role.kubernetes.io/":              "ignored: empty role",
				"other":                                 "x",
			}
		}), "Ready", "control-plane,worker"},
		{"empty kubernetes.io/role is ignored", node("n", func(n *corev1.Node) { n.Labels = map[string]string{"kubernetes.io/role": ""} }), "Ready", "<none>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := Rows(nodeGK, []runtime.Object{tc.node}, now)
			if err != nil {
				t.Fatalf("Rows: %v", err)
			}
			want := []any{tc.wantStatus, tc.wantRoles}
			if diff := cmp.Diff(want, rows[0].Cells[1:3]); diff != "" {
				t.Errorf("node %q STATUS/ROLES mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestEventCells(t *testing.T) {
	cases := []struct {
		name string
		gk   schema.GroupKind
		ev   runtime.Object
		// LAST SEEN, OBJECT, SOURCE, FIRST SEEN, COUNT
		want []any
	}{
		{"old-style event", eventGK, &corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"},
			Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: ago(time.Hour), LastTimestamp: ago(time.Minute), Count: 3,
		}, []any{"60s", "pod/p", "kubelet, node-1", "60m", int64(3)}},
		{"no last timestamp repeats first seen", eventGK, &corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "n"},
			Source:         corev1.EventSource{Component: "c"},
			FirstTimestamp: ago(2 * time.Hour),
		}, []any{"120m", "node/n", "c", "120m", int64(1)}},
		{"new-style singleton uses eventTime and reporting fields", eventGK, &corev1.Event{
			InvolvedObject:      corev1.ObjectReference{Kind: "DaemonSet", Name: "ds"},
			EventTime:           agoMicro(5 * time.Second),
			ReportingController: "ctl", ReportingInstance: "inst",
		}, []any{"5s", "daemonset/ds", "ctl, inst", "5s", int64(1)}},
		{"series overrides last seen and count", eventGK, &corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"},
			EventTime:      agoMicro(time.Hour),
			Series:         &corev1.EventSeries{Count: 12, LastObservedTime: agoMicro(time.Minute)},
			Count:          2,
		}, []any{"60s", "pod/p", "", "60m", int64(12)}},
		{"source component wins over reporting controller", eventGK, &corev1.Event{
			InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Name: "p"},
			Source:              corev1.EventSource{Component: "old"},
			ReportingController: "new", ReportingInstance: "inst",
		}, []any{"<unknown>", "pod/p", "old, inst", "<unknown>", int64(1)}},
		{"object without name prints the kind", eventGK, &corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "ClusterThing"},
		}, []any{"<unknown>", "clusterthing", "", "<unknown>", int64(1)}},
		{"events.k8s.io object", eventsGK, &eventsv1.Event{
			Regarding:                corev1.ObjectReference{Kind: "Pod", Name: "p"},
			DeprecatedSource:         corev1.EventSource{Component: "kubelet"},
			DeprecatedFirstTimestamp: ago(3 * time.Minute),
			DeprecatedLastTimestamp:  ago(2 * time.Minute),
			DeprecatedCount:          5,
		}, []any{"2m", "pod/p", "kubelet", "3m", int64(5)}},
		{"core object served as events.k8s.io", eventsGK, &corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"},
			EventTime:      agoMicro(time.Second),
		}, []any{"1s", "pod/p", "", "1s", int64(1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := Rows(tc.gk, []runtime.Object{tc.ev}, now)
			if err != nil {
				t.Fatalf("Rows: %v", err)
			}
			c := rows[0].Cells
			got := []any{c[0], c[3], c[5], c[7], c[8]}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("event %q cells mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestRowsErrors(t *testing.T) {
	cases := []struct {
		name string
		gk   schema.GroupKind
		obj  runtime.Object
	}{
		{"node given for pod", podGK, &corev1.Node{}},
		{"pod given for node", nodeGK, &corev1.Pod{}},
		{"pod given for event", eventGK, &corev1.Pod{}},
		{"pod given for daemonset", daemonSetGK, &corev1.Pod{}},
		{"pod given for revision", revisionGK, &corev1.Pod{}},
		{"pod given for lease", leaseGK, &corev1.Pod{}},
		{"pod given for namespace", namespaceGK, &corev1.Pod{}},
		{"object without metadata for default", defaultGK, &metav1.Status{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if rows, err := Rows(tc.gk, []runtime.Object{tc.obj}, now); err == nil {
				t.Errorf("Rows(%s, %T) = %v, want an error", tc.gk, tc.obj, rows)
			}
		})
	}
}

func TestControllerRevisionBadOwnerAPIVersion(t *testing.T) {
	rev := goldenControllerRevisions()[0].(*appsv1.ControllerRevision)
	rev.OwnerReferences[0].APIVersion = "a/b/c"
	if _, err := Rows(revisionGK, []runtime.Object{rev}, now); err == nil {
		t.Errorf("Rows with owner apiVersion a/b/c: want an error")
	}
}

func TestAge(t *testing.T) {
	cases := []struct {
		age  time.Duration
		want string
	}{
		{0, "0s"},
		{59 * time.Second, "59s"},
		{90 * time.Second, "90s"},
		{5 * time.Minute, "5m"},
		{3*time.Hour + 20*time.Minute, "3h20m"},
		{50 * 24 * time.Hour, "50d"},
		{3 * 365 * 24 * time.Hour, "3y"},
	}
	for _, tc := range cases {
		if got := since(ago(tc.age), now); got != tc.want {
			t.Errorf("since(now-%s) = %q, want %q", tc.age, got, tc.want)
		}
	}
	if got := since(metav1.Time{}, now); got != "<unknown>" {
		t.Errorf("since(zero) = %q, want <unknown>", got)
	}
}
