package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/packhouse/packhouse/internal/client"
	"github.com/packhouse/packhouse/internal/repoconfig"
)

func newRepoConfigCmd(g *globalOptions) *cobra.Command {
	var format, keyFile, arch string
	var noGPGCheck bool
	cmd := &cobra.Command{
		Use:   "repo-config REPO BRANCH",
		Short: "Print a package manager's configuration for a repository's view of a branch",
		Long: `Print what a package manager needs to use repository REPO as seen from
branch BRANCH, with the server's signing key:

  deb   a deb822 .sources stanza for apt, the key embedded in Signed-By
        (or named, with --key-file)
  rpm   a .repo file for dnf and yum, checking the packages' signatures
        (gpgcheck, unless --no-gpgcheck) and the repository's (repo_gpgcheck)
  arch  a pacman.conf section, and the pacman-key commands that trust the key
  apk   an /etc/apk/repositories line, and the command that installs the key`,
		Example: `  packhouse repo-config product feature/login --format deb | sudo tee /etc/apt/sources.list.d/product.sources
  packhouse repo-config product main --format rpm | sudo tee /etc/yum.repos.d/product.repo`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(repoconfig.Formats, format) {
				return fmt.Errorf("--format %q: want one of %s", format, strings.Join(repoconfig.Formats, ", "))
			}
			v := repoconfig.View{Server: strings.TrimSuffix(g.server, "/"), Repo: args[0], Branch: args[1]}
			out, err := repoConfig(cmd.Context(), v, format, keyFile, arch, !noGPGCheck)
			if err != nil {
				return err
			}
			_, err = io.WriteString(g.stdout, out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "deb", "deb, rpm, arch or apk")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "deb: path of the installed signing key to name in Signed-By, instead of embedding it")
	cmd.Flags().StringVar(&arch, "arch", "", "deb: restrict to these architectures (space-separated)")
	cmd.Flags().BoolVar(&noGPGCheck, "no-gpgcheck", false, "rpm: do not check the packages' own signatures (for unsigned rpms)")
	return cmd
}

func repoConfig(ctx context.Context, v repoconfig.View, format, keyFile, arch string, gpgcheck bool) (string, error) {
	switch format {
	case "deb":
		if keyFile != "" {
			return repoconfig.Deb(v, nil, keyFile, arch), nil
		}
		key, err := fetchKey(ctx, v.Server)
		if err != nil {
			return "", err
		}
		return repoconfig.Deb(v, key, "", arch), nil
	case "rpm":
		return repoconfig.RPM(v, gpgcheck), nil
	}
	keys, err := fetchKeys(ctx, v.Server)
	if err != nil {
		return "", err
	}
	if format == "arch" {
		return repoconfig.Arch(v, keys.Fingerprint), nil
	}
	return repoconfig.APK(v, keys.APKKeyName), nil
}

func fetchKeys(ctx context.Context, base string) (client.Keys, error) {
	var k client.Keys
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/keys", nil)
	if err != nil {
		return k, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return k, fmt.Errorf("fetch signing keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return k, fmt.Errorf("fetch signing keys: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&k); err != nil {
		return k, fmt.Errorf("fetch signing keys: %w", err)
	}
	return k, nil
}
