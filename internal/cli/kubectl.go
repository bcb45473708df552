package cli

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
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
			stampKubectlVersion()
			k := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
				PluginHandler: kubectlcmd.NewDefaultPluginHandler([]string{"kubectl"}),
				Arguments:     append([]string{"kubectl"}, args...),
				IOStreams:     ioStreams(cmd),
			})
			k.SetArgs(args)
			return k.ExecuteContext(cmd.Context())
		},
	}
}

func ioStreams(cmd *cobra.Command) genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), ErrOut: cmd.ErrOrStderr()}
}
