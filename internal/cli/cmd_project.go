package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/packhouse/packhouse/internal/client"
)

// apiClient is the client every server command uses.
func (g *globalOptions) apiClient() (*client.Client, error) {
	return client.New(g.server, g.token)
}

func (g *globalOptions) table() *tabwriter.Writer {
	return tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
}

func newProjectCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "List and create projects"}
	var defaultBranch string
	var repos []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a project with its default branch, optionally adding it to repositories",
		Example: `  packhouse project create server --default-branch master --repo product
  packhouse project create deps --default-branch main --repo product --repo tools`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			p, err := c.CreateProject(cmd.Context(), args[0], defaultBranch, repos)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created project %s (default branch %s)\n", p.Name, p.DefaultBranch)
			return nil
		},
	}
	create.Flags().StringVar(&defaultBranch, "default-branch", "main", "the branch other branches' views fall back to")
	create.Flags().StringSliceVar(&repos, "repo", nil, "repository to add the project to, created if missing (repeatable)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			ps, err := c.ListProjects(cmd.Context())
			if err != nil {
				return err
			}
			tw := g.table()
			fmt.Fprintln(tw, "PROJECT\tDEFAULT BRANCH\tCREATED")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.DefaultBranch, p.CreatedAt.Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

func newRepoCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "repo", Short: "List and create repositories (named groups of projects)"}
	var projects []string
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a repository of projects",
		Example: `  packhouse repo create product --project server --project deps`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.CreateRepository(cmd.Context(), args[0], projects)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created repository %s %v\n", r.Name, r.Projects)
			return nil
		},
	}
	create.Flags().StringSliceVar(&projects, "project", nil, "project in the repository (repeatable)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List repositories",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			rs, err := c.ListRepositories(cmd.Context())
			if err != nil {
				return err
			}
			tw := g.table()
			fmt.Fprintln(tw, "REPOSITORY\tPROJECTS")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%v\n", r.Name, r.Projects)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}
