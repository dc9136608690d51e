package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/packhouse/packhouse/internal/client"
)

func newTokenCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens (needs an admin token)"}
	var projects []string
	var kind, description string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; its secret is printed once",
		Long: `Create a token. An upload token (--project, repeatable) may push to and
remove packages from its projects; a read token may read repositories when
the server requires tokens for reading; an admin token may do anything.`,
		Example: `  packhouse token create --project server --description "gitlab ci"
  packhouse token create --kind read --description "customer acme"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind == "" {
				kind = client.TokenUpload
				if len(projects) == 0 {
					return fmt.Errorf("give --project for an upload token, or --kind read|admin")
				}
			}
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), kind, projects, description)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, t.Token)
			fmt.Fprintf(g.stderr, "token %s (%s %v): store the secret now, it is not shown again\n", t.ID, t.Kind, t.Projects)
			return nil
		},
	}
	f := create.Flags()
	f.StringSliceVar(&projects, "project", nil, "project an upload token may push to (repeatable)")
	f.StringVar(&kind, "kind", "", "upload (default with --project), read or admin")
	f.StringVar(&description, "description", "", "what the token is for")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (their secrets are not kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			ts, err := c.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			tw := g.table()
			fmt.Fprintln(tw, "ID\tKIND\tPROJECTS\tDESCRIPTION")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", t.ID, t.Kind, t.Projects, t.Description)
			}
			return tw.Flush()
		},
	}
	rm := &cobra.Command{
		Use:   "rm ID",
		Short: "Revoke a token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			if err := c.DeleteToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "revoked token %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, rm)
	return cmd
}
