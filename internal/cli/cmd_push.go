package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/packhouse/packhouse/internal/client"
	"github.com/packhouse/packhouse/internal/push"
)

type pushOptions struct {
	project   string
	branch    string
	replace   bool
	jobs      int
	noCache   bool
	cacheFile string
	quiet     bool
	plain     push.Plain
}

func newPushCmd(g *globalOptions) *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push [flags] FILE|DIR...",
		Short: "Upload package files to a project's branch, sending only what the server lacks",
		Long: `Upload package files to a branch of a project.

Every file is hashed locally (SHA-256; hashes of files unchanged since an
earlier push come from a cache), the server is asked about all of them in one
request, and only the files it does not already hold are uploaded, several at
once. Each file ends stored (new bytes), linked (bytes the server held, now
in the branch), exists (the branch had it) or failed; any failure makes the
exit status non-zero.

A directory stands for the package files below it, searched recursively
(hidden directories are skipped): *.deb, *.udeb, *.ddeb, *.rpm, *.apk,
*.pkg.tar.* (not *.sig) and *.tar.xz. Files named on the command line are
pushed whatever their names.

With --name and --version, the files are pushed as plain files of that name
and version (installers, archives, anything that is not a package), listed
at /files/REPO/BRANCH/ and downloadable as the newest of their name.

Without --branch, the branch comes from CI_COMMIT_REF_NAME (GitLab),
GITHUB_HEAD_REF or GITHUB_REF_NAME (GitHub), CHANGE_BRANCH or BRANCH_NAME
(Jenkins), else from git in the current directory.`,
		Example: `  packhouse push --project server build/
  packhouse push --project server --branch feature/login --replace dist/*.deb
  packhouse push --project server --name installer --version 2.1.0 dist/setup.msi`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd, g, o, args)
		},
	}
	addPushFlags(cmd.Flags(), o)
	f := cmd.Flags()
	f.StringVar(&o.plain.Name, "name", "", "push the files as plain files of this name")
	f.StringVar(&o.plain.Version, "version", "", "the plain files' version (with --name)")
	f.StringVar(&o.plain.Arch, "arch", "", "the plain files' architecture (with --name; default any)")
	return cmd
}

// addPushFlags adds the flags of a push; packhouse build --push takes them
// too.
func addPushFlags(f *pflag.FlagSet, o *pushOptions) {
	f.StringVarP(&o.project, "project", "p", os.Getenv("PACKHOUSE_PROJECT"), "project to push to (env PACKHOUSE_PROJECT)")
	f.StringVarP(&o.branch, "branch", "b", "", "branch to push to (default: from CI variables or git)")
	f.BoolVar(&o.replace, "replace", false, "replace a package of the same name, version and architecture in the branch")
	f.IntVarP(&o.jobs, "jobs", "j", push.DefaultJobs, "files to upload at once")
	f.BoolVar(&o.noCache, "no-cache", false, "hash every file, neither reading nor writing the hash cache")
	f.StringVar(&o.cacheFile, "hash-cache", envOr("PACKHOUSE_HASH_CACHE", ""), "hash cache file (env PACKHOUSE_HASH_CACHE; default $XDG_CACHE_HOME/packhouse/hashes)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only failures")
}

func runPush(cmd *cobra.Command, g *globalOptions, o *pushOptions, args []string) error {
	ctx := cmd.Context()
	if o.project == "" {
		return errors.New("no project: pass --project or set PACKHOUSE_PROJECT")
	}
	if o.jobs < 1 {
		return fmt.Errorf("--jobs %d: want at least 1", o.jobs)
	}
	if (o.plain.Name == "") != (o.plain.Version == "") || (o.plain.Arch != "" && o.plain.Name == "") {
		return errors.New("plain files need both --name and --version")
	}
	if o.branch == "" {
		b, err := push.DetectBranch(ctx, push.BranchSource{})
		if err != nil {
			return err
		}
		o.branch = b
	}
	files, err := push.ExpandPaths(args)
	if err != nil {
		return err
	}
	c, err := client.New(g.server, g.token)
	if err != nil {
		return err
	}

	var cache *push.Cache
	if !o.noCache {
		path := o.cacheFile
		if path == "" {
			path, err = push.DefaultCachePath()
		}
		if err == nil {
			// A cache that cannot be read only costs time.
			cache, _ = push.LoadCache(path)
		}
	}

	opts := push.Options{
		Project: o.project,
		Branch:  o.branch,
		Replace: o.replace,
		Plain:   o.plain,
		Jobs:    o.jobs,
		Cache:   cache,
	}
	if !o.quiet {
		f, ok := g.stderr.(*os.File)
		opts.Progress = push.NewProgress(g.stderr, ok && term.IsTerminal(int(f.Fd())))
	}
	sum, pushErr := push.Push(ctx, c, files, opts)
	if sum.CacheErr != nil && !o.quiet {
		fmt.Fprintln(g.stderr, "packhouse: warning:", sum.CacheErr)
	}
	if pushErr != nil && o.quiet {
		for _, r := range sum.Results {
			if r.Status == push.StatusFailed {
				fmt.Fprintf(g.stderr, "failed %s: %v\n", r.Path, r.Err)
			}
		}
	}
	return pushErr
}
