// Package cli holds everynode's commands: flags bind to option structs here
// and nowhere else, and this is the only package that wires the parts
// (store, apiserver, auth, etcd) together. Imported by cmd/everynode.
package cli

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// IO is where a command reads and writes.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Run executes the everynode command line and returns the exit code.
func Run(ctx context.Context, args []string, streams IO) int {
	root := newRoot(streams)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	if err := root.ExecuteContext(ctx); err != nil {
		return 1
	}
	return 0
}

func newRoot(streams IO) *cobra.Command {
	root := &cobra.Command{
		Use:           "everynode",
		Short:         "Run a daemon on every machine of a fleet: Kubernetes DaemonSets, taints and tolerations in one binary",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	// klog's flags live on a private flag set bound to this command tree.
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	root.PersistentFlags().AddGoFlag(klogFlags.Lookup("v"))
	root.AddCommand(newServerCommand(streams), newKubectlCommand(), newVersionCommand(streams), newTokenCommand(streams), newAgentCommand(streams), newShimCommand(), newUpCommand(streams, klogFlags), newExplainCommand(streams), newSimCommand(streams))
	return root
}

// defaultDataDir is $EVERYNODE_DATA_DIR, else ~/.everynode.
func defaultDataDir() string {
	if d := os.Getenv("EVERYNODE_DATA_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".everynode"
	}
	return filepath.Join(home, ".everynode")
}
