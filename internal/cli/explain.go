package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/everynode/everynode/internal/placement"
)

func newExplainCommand(streams IO) *cobra.Command {
	var namespace, node, kubeconfig string
	cmd := &cobra.Command{
		Use:   "explain daemonset/NAME",
		Short: "Say, for every node, whether a DaemonSet runs there and why not",
		Long: "For every node, explain says whether the DaemonSet's pod should run there, whether an\n" +
			"existing pod may stay, which pod is there now, and, for every node without one, the reason:\n" +
			"the untolerated taint, the nodeSelector key or the affinity term that does not match.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, ok := strings.CutPrefix(args[0], "daemonset/")
			if !ok {
				name, ok = strings.CutPrefix(args[0], "ds/")
			}
			if !ok || name == "" {
				return fmt.Errorf("want daemonset/NAME (or ds/NAME), got %q", args[0])
			}
			client, err := adminClient(kubeconfig)
			if err != nil {
				return err
			}
			return explain(cmd.Context(), client, namespace, name, node, streams.Out)
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace of the DaemonSet")
	cmd.Flags().StringVar(&node, "node", "", "explain this node only")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig (default $KUBECONFIG, else the default data dir's admin.kubeconfig)")
	return cmd
}

// adminClient connects with the given kubeconfig, $KUBECONFIG, or the
// default data dir's admin kubeconfig, in that order.
func adminClient(kubeconfig string) (kubernetes.Interface, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	if kubeconfig == "" {
		kubeconfig = filepath.Join(defaultDataDir(), "admin.kubeconfig")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	return kubernetes.NewForConfig(cfg)
}

func explain(ctx context.Context, client kubernetes.Interface, ns, name, only string, out io.Writer) error {
	ds, err := client.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return err
	}
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return err
	}
	var ns2 []*corev1.Node
	for i := range nodes.Items {
		if only == "" || nodes.Items[i].Name == only {
			ns2 = append(ns2, &nodes.Items[i])
		}
	}
	if only != "" && len(ns2) == 0 {
		return fmt.Errorf("node %q not found", only)
	}
	var ps []*corev1.Pod
	for i := range pods.Items {
		if metav1.IsControlledBy(&pods.Items[i], ds) {
			ps = append(ps, &pods.Items[i])
		}
	}
	st := ds.Status
	fmt.Fprintf(out, "DaemonSet %s/%s: desired %d, current %d, ready %d, up-to-date %d, available %d, misscheduled %d\n\n",
		ns, name, st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberReady, st.UpdatedNumberScheduled, st.NumberAvailable, st.NumberMisscheduled)
	return writeExplanation(out, explainRows(ds, ns2, ps))
}

// explanationRow is one node's line.
type explanationRow struct {
	Node, ShouldRun, MayStay, Pod, Phase, Why string
}

// explainRows decides, per node in name order, with the DaemonSet
// controller's own decision (placement.Decide).
func explainRows(ds *appsv1.DaemonSet, nodes []*corev1.Node, pods []*corev1.Pod) []explanationRow {
	byNode := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if n, ok := placement.TargetNode(p); ok {
			byNode[n] = append(byNode[n], p)
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	yesNo := map[bool]string{true: "yes", false: "no"}
	var rows []explanationRow
	for _, n := range nodes {
		d := placement.Decide(n, ds)
		row := explanationRow{Node: n.Name, ShouldRun: yesNo[d.ShouldRun], MayStay: yesNo[d.ShouldContinueRunning], Pod: "-", Phase: "-"}
		if ps := byNode[n.Name]; len(ps) > 0 {
			var names, phases []string
			for _, p := range ps {
				names = append(names, p.Name)
				phase := string(p.Status.Phase)
				if p.DeletionTimestamp != nil {
					phase = "Terminating"
				}
				phases = append(phases, phase)
			}
			row.Pod, row.Phase = strings.Join(names, ","), strings.Join(phases, ",")
		}
		if !d.ShouldRun {
			row.Why = fmt.Sprintf("%s: %s", d.Reason, d.Message)
			if d.ShouldContinueRunning && row.Pod != "-" {
				row.Why += " (the running pod may stay: only NoExecute taints and selector changes remove it)"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func writeExplanation(out io.Writer, rows []explanationRow) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSHOULD RUN\tMAY STAY\tPOD\tPHASE\tWHY NOT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Node, r.ShouldRun, r.MayStay, r.Pod, r.Phase, r.Why)
	}
	return tw.Flush()
}
