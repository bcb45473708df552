package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/everynode/everynode/internal/auth"
)

func newTokenCommand(streams IO) *cobra.Command {
	dataDir := defaultDataDir()
	cmd := &cobra.Command{Use: "token", Short: "Manage join tokens that let agents register nodes"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a join token (on the server's machine) and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			caPEM, err := os.ReadFile(filepath.Join(dataDir, "pki", "ca.crt"))
			if err != nil {
				return fmt.Errorf("read the cluster CA (has `everynode server --data-dir %s` run?): %w", dataDir, err)
			}
			secret, err := auth.NewTokens(dataDir).Create()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(streams.Out, auth.JoinToken{CAHash: auth.CAHash(caPEM), Secret: secret})
			return err
		},
	}
	create.Flags().StringVar(&dataDir, "data-dir", dataDir, "the server's data directory")
	cmd.AddCommand(create)
	return cmd
}
