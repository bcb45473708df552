package cli

import (
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// newKubectlCommand embeds the real kubectl. Without $KUBECONFIG it uses the
// admin kubeconfig of the default data dir, as `k3s kubectl` does.
func newKubectlCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl",
		Short:              "Run kubectl against the everynode cluster",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Getenv("KUBECONFIG") == "" {
				if err := os.Setenv("KUBECONFIG", filepath.Join(defaultDataDir(), "admin.kubeconfig")); err != nil {
					return err
				}
			}
			// Signals act on kubectl as on the real binary (Ctrl-C ends
			// `logs -f` or `get -w` at once), not through main's context.
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			stampKubectlVersion()
			k := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
				PluginHandler: kubectlcmd.NewDefaultPluginHandler([]string{"kubectl"}),
				Arguments:     append([]string{"kubectl"}, args...),
				IOStreams:     ioStreams(cmd),
			})
			k.SetArgs(args)
			// As kubectl's own main: its logging flags (-v, --vmodule),
			// flag-name normalization, and errors printed kubectl's way
			// with exit status 1.
			if err := cli.RunNoErrOutput(k); err != nil {
				cmdutil.CheckErr(err)
			}
			return nil
		},
	}
}

func ioStreams(cmd *cobra.Command) genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), ErrOut: cmd.ErrOrStderr()}
}
