package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// globalOptions are the flags every client command shares.
type globalOptions struct {
	server string // base URL of the packhouse server
	token  string
	stdout io.Writer
	stderr io.Writer
}

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs the command line and returns the process exit status.
func Main(args []string) int {
	return run(context.Background(), args, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "packhouse:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalOptions{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "packhouse",
		Short:         "Build, host, test and ship deb, rpm, apk and Arch packages",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", envOr("PACKHOUSE_URL", "http://127.0.0.1:8080"), "packhouse server URL (env PACKHOUSE_URL)")
	pf.StringVar(&g.token, "token", os.Getenv("PACKHOUSE_TOKEN"), "API token (env PACKHOUSE_TOKEN)")

	root.AddCommand(
		// Subcommands, one per file.
		newPushCmd(g),
		newServeCmd(g),
		newProjectCmd(g),
		newRepoCmd(g),
		newBranchCmd(g),
		newPackageCmd(g),
		newTokenCmd(g),
		newAptSourceCmd(g),
		newRepoConfigCmd(g),
		newBuildCmd(g),
		newConvertCmd(g),
	)
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
