package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPackageCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "package", Aliases: []string{"pkg"}, Short: "List, show and remove packages"}
	var branch string
	list := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List the packages of a project's branch (default: its default branch)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			ps, err := c.ListPackages(cmd.Context(), args[0], branch)
			if err != nil {
				return err
			}
			tw := g.table()
			fmt.Fprintln(tw, "NAME\tVERSION\tARCH\tSIZE\tSHA256")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", p.Name, p.Version, p.Architecture, p.Size, p.SHA256)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVarP(&branch, "branch", "b", "", "branch (default: the project's default branch)")

	show := &cobra.Command{
		Use:   "show SHA256",
		Short: "Show a package: its checksums and control fields",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			p, err := c.GetPackage(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w := g.stdout
			fmt.Fprintf(w, "Format: %s\nFile: %s\nSize: %d\nMD5: %s\nSHA1: %s\nSHA256: %s\nSHA512: %s\nUploaded: %s\n\n",
				p.Format, p.Filename, p.Size, p.MD5, p.SHA1, p.SHA256, p.SHA512, p.CreatedAt.Format("2006-01-02 15:04:05 MST"))
			for _, f := range p.Control {
				fmt.Fprintf(w, "%s: %s\n", f.Name, f.Value)
			}
			return nil
		},
	}

	var rmBranch string
	rm := &cobra.Command{
		Use:   "rm PROJECT SHA256",
		Short: "Remove a package from a branch (its bytes stay while anything else uses them)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rmBranch == "" {
				return fmt.Errorf("--branch is required")
			}
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			if err := c.RemovePackage(cmd.Context(), args[0], rmBranch, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "removed %s from %s/%s\n", args[1], args[0], rmBranch)
			return nil
		},
	}
	rm.Flags().StringVarP(&rmBranch, "branch", "b", "", "branch to remove the package from")
	cmd.AddCommand(list, show, rm)
	return cmd
}
