// Command rollout measures bench scenario 1 against any cluster reachable
// through a kubeconfig: with N nodes Ready, it creates a DaemonSet and times
// until status.numberReady == N, reading the CPU seconds and peak RSS of the
// given control-plane processes from /proc. The same program measures
// everynode and the upstream baseline, so their figures compare.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

type options struct {
	kubeconfig string
	nodes      int
	selector   string
	manifest   string
	procs      string
	label      string
	idle       time.Duration
	timeout    time.Duration
	out        string
}

// Result is one run's figures (seconds, MiB).
type Result struct {
	Label        string                `json:"label"`
	Nodes        int                   `json:"nodes"`
	NodesReadyS  float64               `json:"nodes_ready_wait_s"`
	CreateS      float64               `json:"create_s"`
	AllCreatedS  float64               `json:"apply_to_all_pods_created_s"`
	ReadyS       float64               `json:"apply_to_numberReady_s"`
	IdleProcs    map[string]ProcResult `json:"idle_procs,omitempty"`
	RolloutProcs map[string]ProcResult `json:"rollout_procs"`
}

// ProcResult is what one process used during a phase.
type ProcResult struct {
	CPUSeconds float64 `json:"cpu_s"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	EndRSSMiB  float64 `json:"end_rss_mib"`
	// LifetimePeakRSSMiB is the peak since the process started (the
	// phase's peak or an earlier one, whichever is higher).
	LifetimePeakRSSMiB float64 `json:"lifetime_peak_rss_mib"`
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (administrator)")
	flag.IntVar(&o.nodes, "nodes", 100, "number of Ready nodes to wait for (the DaemonSet's target)")
	flag.StringVar(&o.selector, "node-selector", "", "count only nodes with these labels")
	flag.StringVar(&o.manifest, "manifest", "bench/daemonset.yaml", "DaemonSet manifest (YAML)")
	flag.StringVar(&o.procs, "procs", "", "name=pid,... of the processes to account CPU and RSS for")
	flag.StringVar(&o.label, "label", "", "free-form label for the result")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "length of the idle window measured before the rollout (0 skips it)")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "timeout of each wait")
	flag.StringVar(&o.out, "out", "", "also write the JSON result here")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "rollout:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS = -1 // the driver must not be the bottleneck
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(o.manifest)
	if err != nil {
		return err
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(data, &ds); err != nil {
		return fmt.Errorf("%s: %w", o.manifest, err)
	}
	if ds.Namespace == "" {
		ds.Namespace = metav1.NamespaceDefault
	}
	procs, err := parseProcs(o.procs)
	if err != nil {
		return err
	}
	res := Result{Label: o.label, Nodes: o.nodes}

	t := time.Now()
	if err := waitNodes(ctx, cs, o); err != nil {
		return err
	}
	res.NodesReadyS = time.Since(t).Seconds()
	if o.idle > 0 {
		ph := startPhase(procs)
		time.Sleep(o.idle)
		res.IdleProcs = ph.end()
	}

	ph := startPhase(procs)
	t0 := time.Now()
	if _, err := cs.AppsV1().DaemonSets(ds.Namespace).Create(ctx, &ds, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create DaemonSet: %w", err)
	}
	res.CreateS = time.Since(t0).Seconds()
	deadline := time.Now().Add(o.timeout)
	lastPrint := time.Now()
	for {
		cur, err := cs.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
		if err == nil {
			st := cur.Status
			if res.AllCreatedS == 0 && st.CurrentNumberScheduled >= int32(o.nodes) {
				res.AllCreatedS = time.Since(t0).Seconds()
			}
			if st.NumberReady >= int32(o.nodes) && st.DesiredNumberScheduled == int32(o.nodes) {
				res.ReadyS = time.Since(t0).Seconds()
				break
			}
			if time.Since(lastPrint) > 5*time.Second {
				fmt.Fprintf(os.Stderr, "  t=%.0fs desired=%d current=%d ready=%d\n", time.Since(t0).Seconds(), st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberReady)
				lastPrint = time.Now()
			}
		}
		if time.Now().After(deadline) {
			return errors.New("timeout waiting for the DaemonSet to be ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.RolloutProcs = ph.end()

	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(b))
	if o.out != "" {
		if err := os.WriteFile(o.out, b, 0o644); err != nil {
			return err
		}
	}
	line := fmt.Sprintf("RESULT rollout label=%s nodes=%d all_created=%.2fs numberReady=%.2fs", o.label, o.nodes, res.AllCreatedS, res.ReadyS)
	for _, p := range procs {
		r := res.RolloutProcs[p.name]
		line += fmt.Sprintf(" %s_cpu=%.2fs %s_peak_rss=%.0fMiB %s_lifetime_peak_rss=%.0fMiB", p.name, r.CPUSeconds, p.name, r.PeakRSSMiB, p.name, r.LifetimePeakRSSMiB)
	}
	fmt.Fprintln(os.Stderr, line)
	return nil
}

// waitNodes waits until o.nodes nodes are Ready and carry no NoSchedule
// taint (the ones the DaemonSet can run on right away).
func waitNodes(ctx context.Context, cs kubernetes.Interface, o options) error {
	deadline := time.Now().Add(o.timeout)
	for {
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.selector, ResourceVersion: "0"})
		ready := 0
		if err == nil {
			for i := range list.Items {
				if schedulable(&list.Items[i]) {
					ready++
				}
			}
			if ready >= o.nodes {
				fmt.Fprintf(os.Stderr, "%d nodes Ready\n", ready)
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timeout: %d/%d nodes Ready (last error %v)", ready, o.nodes, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func schedulable(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

type proc struct {
	name string
	pid  int
}

func parseProcs(s string) ([]proc, error) {
	var out []proc
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		name, pid, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil {
			return nil, fmt.Errorf("invalid --procs entry %q: want name=pid", kv)
		}
		out = append(out, proc{name, n})
	}
	return out, nil
}

// sample is one reading of a process from /proc.
type sample struct {
	cpuTicks     uint64
	hwmKB, rssKB uint64
}

// clkTck is sysconf(_SC_CLK_TCK), 100 on Linux.
const clkTck = 100.0

func readProc(pid int) (sample, error) {
	var s sample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name, which may hold spaces: utime and
	// stime are the 14th and 15th fields of the line.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	s.cpuTicks = ut + st
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			s.hwmKB, _ = strconv.ParseUint(f[1], 10, 64)
		case "VmRSS:":
			s.rssKB, _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	return s, nil
}

type phase struct {
	procs  []proc
	before map[string]sample
}

// startPhase samples the processes and resets their peak RSS, so that
// VmHWM at the end covers this phase only.
func startPhase(procs []proc) *phase {
	ph := &phase{procs: procs, before: map[string]sample{}}
	for _, p := range procs {
		s, err := readProc(p.pid)
		if err != nil {
			fmt.Fprintf(os.Stderr, "read /proc of %s: %v\n", p.name, err)
			continue
		}
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0)
		ph.before[p.name] = s
	}
	return ph
}

func (ph *phase) end() map[string]ProcResult {
	out := map[string]ProcResult{}
	for _, p := range ph.procs {
		s, err := readProc(p.pid)
		if err != nil {
			continue
		}
		b := ph.before[p.name]
		out[p.name] = ProcResult{
			CPUSeconds:         float64(s.cpuTicks-b.cpuTicks) / clkTck,
			PeakRSSMiB:         float64(s.hwmKB) / 1024,
			EndRSSMiB:          float64(s.rssKB) / 1024,
			LifetimePeakRSSMiB: float64(max(s.hwmKB, b.hwmKB)) / 1024,
		}
	}
	return out
}
