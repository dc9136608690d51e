package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/packhouse/packhouse/internal/repoconfig"
)

func newAptSourceCmd(g *globalOptions) *cobra.Command {
	var keyFile, arch string
	cmd := &cobra.Command{
		Use:   "apt-source REPO BRANCH",
		Short: "Print a deb822 .sources stanza that points apt at a repository's view of a branch",
		Long: `Print a deb822 .sources stanza for apt that points at repository REPO as
seen from branch BRANCH, with the server's signing key in Signed-By. The key
is embedded (apt 2.3 and later) unless --key-file names where it is
installed instead (fetch it from <server>/keys/packhouse.asc).`,
		Example: `  packhouse apt-source product feature/login | sudo tee /etc/apt/sources.list.d/product.sources`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := repoconfig.View{Server: strings.TrimSuffix(g.server, "/"), Repo: args[0], Branch: args[1]}
			out, err := repoConfig(cmd.Context(), v, "deb", keyFile, arch, true)
			if err != nil {
				return err
			}
			_, err = io.WriteString(g.stdout, out)
			return err
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "path of the installed signing key to name in Signed-By, instead of embedding it")
	cmd.Flags().StringVar(&arch, "arch", "", "restrict to these architectures (space-separated)")
	return cmd
}

func fetchKey(ctx context.Context, base string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/keys/packhouse.asc", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch signing key: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch signing key: %s", resp.Status)
	}
	key, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch signing key: %w", err)
	}
	if !strings.Contains(string(key), "BEGIN PGP PUBLIC KEY BLOCK") {
		return nil, fmt.Errorf("fetch signing key: %s/keys/packhouse.asc is not an armored OpenPGP key", base)
	}
	return key, nil
}
