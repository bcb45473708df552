package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// upOptions are the flags of `everynode up`.
type upOptions struct {
	Nodes   int
	DataDir string
	Runtime string
	Listen  string
}

// The role node 1 plays, as on a kubeadm cluster.
const (
	controlPlaneLabel = "node-role.kubernetes.io/control-plane"
	controlPlaneTaint = controlPlaneLabel + ":NoSchedule"
)

func newUpCommand(streams IO, klogFlags *flag.FlagSet) *cobra.Command {
	o := upOptions{Nodes: 3, DataDir: defaultDataDir(), Runtime: "process", Listen: "127.0.0.1:6443"}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a whole local cluster: the server and N nodes, in one command (Ctrl-C stops it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			setServerGC(os.Getenv)
			// The components' logs go to a file; the terminal shows progress.
			if err := klogFlags.Set("stderrthreshold", "FATAL"); err != nil {
				return err
			}
			return runUp(cmd.Context(), o, streams)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Nodes, "nodes", o.Nodes, "number of nodes; node-1 is a control-plane node (tainted NoSchedule)")
	f.StringVar(&o.DataDir, "data-dir", o.DataDir, "where the cluster keeps its state ($EVERYNODE_DATA_DIR, else ~/.everynode)")
	f.StringVar(&o.Runtime, "runtime", o.Runtime, "how pods run: process (host processes) or fake (nothing runs)")
	f.StringVar(&o.Listen, "listen", o.Listen, "address of the API server")
	return cmd
}

func runUp(ctx context.Context, o upOptions, streams IO) error {
	if o.Nodes < 1 {
		return fmt.Errorf("--nodes must be at least 1")
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(o.DataDir, "everynode.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	klog.LogToStderr(false)
	klog.SetOutputBySeverity("INFO", logFile) // every severity reaches the INFO stream once
	quiet := IO{In: streams.In, Out: logFile, ErrOut: logFile}
	out := streams.Out
	start := time.Now()
	fmt.Fprintf(out, "Starting everynode with %d node(s) in %s (logs: %s)\n", o.Nodes, o.DataDir, logPath)

	g, gctx := errgroup.WithContext(ctx)
	ready := make(chan serverInfo, 1)
	g.Go(func() error {
		return runServer(gctx, serverOptions{DataDir: o.DataDir, Listen: o.Listen}, quiet, func(si serverInfo) { ready <- si })
	})
	var si serverInfo
	select {
	case si = <-ready:
	case <-gctx.Done():
		return g.Wait()
	}
	fmt.Fprintf(out, "  ✓ API server at %s (%.1fs)\n", si.URL, time.Since(start).Seconds())

	for i := 1; i <= o.Nodes; i++ {
		ao := agentOptions{
			Server: si.URL, Token: si.JoinToken, NodeName: fmt.Sprintf("node-%d", i),
			DataDir: filepath.Join(o.DataDir, "agents", fmt.Sprintf("node-%d", i)), Runtime: o.Runtime,
			NodeIP: "127.0.0.1", StopContainersOnExit: true,
		}
		if i == 1 {
			ao.Labels = []string{controlPlaneLabel + "="}
			ao.Taints = []string{controlPlaneTaint}
		}
		g.Go(func() error { return runAgent(gctx, ao, quiet) })
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", si.Kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	g.Go(func() error {
		if err := waitNodesReady(gctx, client, o.Nodes, start, out); err != nil {
			return err
		}
		fmt.Fprintf(out, "  ✓ %d node(s) Ready (%.1fs)\n\n", o.Nodes, time.Since(start).Seconds())
		printNodes(gctx, client, out)
		fmt.Fprintf(out, `
The cluster is up. In another terminal (everynode is this binary; from a
clone: go build -o everynode ./cmd/everynode and use ./everynode):

  export KUBECONFIG=%[1]s
  everynode kubectl get nodes                # or your own kubectl
  everynode kubectl apply -f examples/all-nodes.yaml
  everynode kubectl get ds,pods -A -o wide
  everynode explain ds/everywhere

Ctrl-C stops the cluster; 'everynode up' again brings the same cluster back.
`, si.Kubeconfig)
		return nil
	})
	err = g.Wait()
	if ctx.Err() != nil {
		fmt.Fprintln(out, "everynode stopped.")
		return nil
	}
	return err
}

// waitNodesReady polls until n nodes are Ready and have renewed their
// Lease since start (a Ready condition may be left from an earlier run),
// reporting each as it comes.
func waitNodesReady(ctx context.Context, client kubernetes.Interface, n int, start time.Time, out interface{ Write([]byte) (int, error) }) error {
	seen := map[string]bool{}
	fresh := func(name string) bool {
		l, err := client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime != nil && !l.Spec.RenewTime.Time.Before(start.Add(-time.Second))
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, node := range nodes.Items {
				if !seen[node.Name] && nodeReady(&node) && fresh(node.Name) {
					seen[node.Name] = true
					fmt.Fprintf(out, "  ✓ %s Ready\n", node.Name)
				}
			}
			if len(seen) >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func printNodes(ctx context.Context, client kubernetes.Interface, out interface{ Write([]byte) (int, error) }) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	sort.Slice(nodes.Items, func(i, j int) bool { return nodes.Items[i].Name < nodes.Items[j].Name })
	fmt.Fprintf(out, "  %-10s %-8s %s\n", "NODE", "STATUS", "TAINTS")
	for _, n := range nodes.Items {
		var taints []string
		for _, t := range n.Spec.Taints {
			s := t.Key
			if t.Value != "" {
				s += "=" + t.Value
			}
			taints = append(taints, s+":"+string(t.Effect))
		}
		status := "NotReady"
		if nodeReady(&n) {
			status = "Ready"
		}
		tt := strings.Join(taints, ",")
		if tt == "" {
			tt = "<none>"
		}
		fmt.Fprintf(out, "  %-10s %-8s %s\n", n.Name, status, tt)
	}
}
