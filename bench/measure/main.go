// Command measure runs the bench scenarios of issue 6 against any cluster
// reachable through a kubeconfig, so that everynode and the upstream
// baseline (Kubernetes with kwok nodes) are measured by the same program:
//
//	steady   N nodes heartbeating for a window: CPU and RSS of each process
//	rollout  create a DaemonSet, time until status.numberReady == N
//	join     nodes join the loaded fleet one at a time: node ADDED → its
//	         daemon pod Running and Ready, and → DaemonSet status counting it
//	update   rolling update with maxUnavailable 10 %: time until every pod
//	         is updated and Ready
//	evict    taint every node NoExecute; the pods tolerate it for 5 s:
//	         how late after taint + 5 s each pod's deletion starts
//
// CPU seconds and peak RSS of the given processes are read from /proc for
// every phase. `measure -table A.json B.json …` prints results side by side.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

type options struct {
	kubeconfig   string
	nodes        int
	selector     string
	manifest     string
	procs        string
	label        string
	scenarios    string
	steady       time.Duration
	joins        int
	joinExec     string
	joinPrefix   string
	joinInterval time.Duration
	evictWorkers int
	kwokNodes    int
	timeout      time.Duration
	out          string
	table        bool
}

// Result is one run's figures.
type Result struct {
	Label       string   `json:"label"`
	Nodes       int      `json:"nodes"`
	NodesReadyS float64  `json:"nodes_ready_wait_s"`
	Steady      *Steady  `json:"steady,omitempty"`
	Rollout     *Rollout `json:"rollout,omitempty"`
	Join        *Join    `json:"join,omitempty"`
	Update      *Update  `json:"update,omitempty"`
	Evict       *Evict   `json:"evict,omitempty"`
}

// Steady is scenario 3.
type Steady struct {
	WindowS float64               `json:"window_s"`
	Procs   map[string]ProcResult `json:"procs"`
}

// Rollout is scenario 1.
type Rollout struct {
	AllCreatedS float64               `json:"apply_to_all_pods_created_s"`
	ReadyS      float64               `json:"apply_to_numberReady_s"`
	Procs       map[string]ProcResult `json:"procs"`
}

// Join is scenario 2.
type Join struct {
	PodReady  Dist                  `json:"node_added_to_pod_ready"`
	DSCounted Dist                  `json:"node_added_to_ds_status"`
	Procs     map[string]ProcResult `json:"procs"`
}

// Update is scenario 4.
type Update struct {
	ReadyS float64               `json:"update_to_all_updated_ready_s"`
	Procs  map[string]ProcResult `json:"procs"`
}

// Evict is scenario 5: lateness is deletion − (taint + tolerationSeconds).
type Evict struct {
	Lateness Dist                  `json:"lateness"`
	Procs    map[string]ProcResult `json:"procs"`
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (administrator)")
	flag.IntVar(&o.nodes, "nodes", 100, "number of Ready nodes to wait for (the DaemonSet's target)")
	flag.StringVar(&o.selector, "node-selector", "", "count only nodes with these labels")
	flag.StringVar(&o.manifest, "manifest", "bench/daemonset.yaml", "DaemonSet manifest (YAML)")
	flag.StringVar(&o.procs, "procs", "", "name=pid,... of the processes to account CPU and RSS for")
	flag.StringVar(&o.label, "label", "", "free-form label for the result")
	flag.StringVar(&o.scenarios, "scenarios", "steady,rollout,join,update,evict", "scenarios to run, in this order")
	flag.DurationVar(&o.steady, "steady", 2*time.Minute, "length of the steady-state window")
	flag.IntVar(&o.joins, "joins", 50, "number of node joins to time")
	flag.StringVar(&o.joinExec, "join-exec", "", "shell command that adds one node named {name} (run once per join, left running until the scenario ends); empty: create kwok Nodes")
	flag.StringVar(&o.joinPrefix, "join-prefix", "join-", "name prefix of joining nodes")
	flag.DurationVar(&o.joinInterval, "join-interval", 200*time.Millisecond, "pause between one join's completion and the next")
	flag.IntVar(&o.evictWorkers, "evict-workers", 20, "parallel taint and node-creation requests")
	flag.IntVar(&o.kwokNodes, "create-kwok-nodes", 0, "first create this many kwok Nodes (kwok-node-00000, …) for kwok to bring up")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "timeout of each wait")
	flag.StringVar(&o.out, "out", "", "also write the JSON result here")
	flag.BoolVar(&o.table, "table", false, "print the results in the JSON files given as arguments side by side")
	flag.Parse()
	if o.table {
		if err := printTable(os.Stdout, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "measure:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}
}

// bench is what every scenario works with.
type bench struct {
	o     options
	cs    kubernetes.Interface
	ds    *appsv1.DaemonSet
	procs []proc
	res   *Result
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
	b := &bench{o: o, cs: cs, ds: &ds, procs: procs, res: &Result{Label: o.label, Nodes: o.nodes}}

	t := time.Now()
	if err := b.createKwokNodes(ctx); err != nil {
		return err
	}
	if err := b.waitNodes(ctx); err != nil {
		return err
	}
	b.res.NodesReadyS = time.Since(t).Seconds()
	steps := map[string]func(context.Context) error{
		"steady": b.steadyState, "rollout": b.rollout, "join": b.join, "update": b.update, "evict": b.evict,
	}
	for _, name := range strings.Split(o.scenarios, ",") {
		step, ok := steps[name]
		if !ok {
			return fmt.Errorf("unknown scenario %q", name)
		}
		fmt.Fprintf(os.Stderr, "== %s\n", name)
		if err := step(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}

	out, _ := json.MarshalIndent(b.res, "", "  ")
	fmt.Println(string(out))
	if o.out != "" {
		if err := os.WriteFile(o.out, out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "  "+format+"\n", args...)
}
