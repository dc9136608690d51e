package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newBranchCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "branch", Short: "List a project's branches"}
	list := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List a project's branches",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			bs, err := c.ListBranches(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			tw := g.table()
			fmt.Fprintln(tw, "BRANCH\tPACKAGES\tUPDATED")
			for _, b := range bs {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", b.Name, b.PackageCount, b.UpdatedAt.Format("2006-01-02 15:04:05"))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(list)
	return cmd
}
