package cli

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/packhouse/packhouse/internal/apk"
	"github.com/packhouse/packhouse/internal/build"
	"github.com/packhouse/packhouse/internal/spec"
)

// buildMemoryLimit is the Go heap's soft limit during a build. The writers
// stream, so their live memory is a few buffers and one compressor window;
// without a limit the garbage collector lets the heap double before it
// collects, and a build would reach 2x that in RSS.
const buildMemoryLimit = 40 << 20

type buildOptions struct {
	config    string
	packagers []string
	arches    []string
	target    string
	key       string
	keyName   string
	push      bool
	pushOpts  pushOptions
	verbose   bool
}

func newBuildCmd(g *globalOptions) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [flags]",
		Short: "Build deb, rpm, apk, Arch and archive packages from an nfpm.yaml spec",
		Long: `Build packages from one spec, in several formats and for several
architectures in one run, in pure Go: no dpkg, rpmbuild or makepkg needed.

The spec is nfpm's nfpm.yaml; see docs/build.md for the keys packhouse
supports and where it differs from nfpm. Output is reproducible: the same
inputs and SOURCE_DATE_EPOCH give byte-identical files. Memory stays bounded
whatever the size of the payload.

Packagers: deb, rpm, apk, archlinux, tar.xz (or archive), tar.gz, zip.
Architectures are given in Go's names (amd64, arm64, arm7, 386, …) or the
distributions' (x86_64, aarch64, armhf, i686, …) and written in each
format's own.`,
		Example: `  packhouse build --packager deb,rpm --arch amd64,arm64
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) packhouse build -f nfpm.yaml --target dist/
  packhouse build --packager apk --key abuild.rsa --key-name builder@example.com-5f1e3c2a.rsa.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.config, "config", "f", "nfpm.yaml", "spec file")
	f.StringSliceVar(&o.packagers, "packager", []string{"deb", "rpm", "apk", "archlinux"}, "formats to build, comma-separated")
	f.StringSliceVarP(&o.arches, "arch", "a", nil, "architectures to build, comma-separated (default: the spec's arch)")
	f.StringVarP(&o.target, "target", "t", "dist", "directory to write the packages to")
	f.StringVar(&o.key, "key", "", "PEM RSA private key to sign apk packages with (default: the spec's apk.signature.key_file)")
	f.StringVar(&o.keyName, "key-name", "", "name of the apk signing key in /etc/apk/keys (default: the spec's apk.signature.key_name, else the maintainer's email + .rsa.pub)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log each package as it is written")
	f.BoolVar(&o.push, "push", false, "push the packages built to the server (with the flags of packhouse push)")
	addPushFlags(f, &o.pushOpts)
	return cmd
}

func runBuild(cmd *cobra.Command, g *globalOptions, o *buildOptions) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(buildMemoryLimit)
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // a terminal shows when; the log is for what
			}
			return a
		}}))
	s, err := spec.Load(o.config, spec.Options{Log: log})
	if err != nil {
		return err
	}
	opts := build.Options{Log: log, Version: buildToolVersion(), APKKeyName: o.keyName}
	if err := loadAPKKey(s, o, &opts); err != nil {
		return err
	}
	var packagers []string
	for _, p := range o.packagers {
		if p = strings.TrimSpace(p); p != "" {
			packagers = append(packagers, p)
		}
	}
	results, err := build.Build(cmd.Context(), s, packagers, o.arches, o.target, opts)
	files := make([]string, 0, len(results))
	for _, r := range results {
		fmt.Fprintln(g.stdout, r.Path)
		files = append(files, r.Path)
	}
	if err != nil {
		return err
	}
	if o.push {
		return runPush(cmd, g, &o.pushOpts, files)
	}
	return nil
}

// loadAPKKey reads the apk signing key, from --key or the spec's
// apk.signature.key_file; only needed when apks are built.
func loadAPKKey(s *spec.Spec, o *buildOptions, opts *build.Options) error {
	wantsAPK := false
	for _, p := range o.packagers {
		if f, err := build.Lookup(p); err == nil && f.Spec == spec.FormatAPK {
			wantsAPK = true
		}
	}
	if !wantsAPK {
		return nil
	}
	path := o.key
	if path == "" {
		p, err := s.Resolve(spec.FormatAPK, buildFirst(o.arches, ""))
		if err != nil {
			return err
		}
		path = p.SigningKeyFile
	}
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("apk signing key: %w", err)
	}
	k, err := apk.ParsePrivateKey(data)
	if err != nil {
		return fmt.Errorf("apk signing key %s: %w", path, err)
	}
	opts.APKKey = k
	return nil
}

func buildFirst(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// buildToolVersion is packhouse's own version, from the module's build info.
func buildToolVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
