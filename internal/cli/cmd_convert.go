package cli

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/packhouse/packhouse/internal/apk"
	"github.com/packhouse/packhouse/internal/build"
	"github.com/packhouse/packhouse/internal/convert"
)

type convertOptions struct {
	to      []string
	target  string
	key     string
	keyName string
}

func newConvertCmd(g *globalOptions) *cobra.Command {
	o := &convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert [flags] FILE.deb...",
		Short: "Turn .deb packages into rpm, apk, Arch packages or archives, as alien does",
		Long: `Convert .deb packages into other formats.

Names, versions, dependencies, conffiles and maintainer scripts are mapped
to each format: versions are fitted to the format's syntax, Debian's
dependency operators and alternatives become the format's, and each
maintainer script is wrapped so that it receives the arguments dpkg would
have given it ("configure", "remove", …). Whatever cannot be carried over
(debconf questions, triggers, a postrm purge branch, alternatives apk
cannot express, …) is listed on stderr.

Dependencies keep Debian's package names, which other distributions may
not share.`,
		Example: `  packhouse convert --to rpm,apk foo_1.2.3-1_amd64.deb
  packhouse convert --to archlinux --target dist/ build/*.deb`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvert(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.to, "to", []string{"rpm"}, "formats to write: rpm, apk, archlinux, tar.xz, tar.gz, zip")
	f.StringVarP(&o.target, "target", "t", ".", "directory to write the packages to")
	f.StringVar(&o.key, "key", "", "PEM RSA private key to sign apk packages with")
	f.StringVar(&o.keyName, "key-name", "", "name of the apk signing key in /etc/apk/keys")
	return cmd
}

func runConvert(cmd *cobra.Command, g *globalOptions, o *convertOptions, files []string) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(buildMemoryLimit)
	}
	var formats []build.Format
	for _, name := range o.to {
		f, err := build.Lookup(name)
		if err != nil {
			return err
		}
		formats = append(formats, f)
	}
	opts := build.Options{Version: buildToolVersion(), APKKeyName: o.keyName}
	if o.key != "" {
		data, err := os.ReadFile(o.key)
		if err != nil {
			return fmt.Errorf("apk signing key: %w", err)
		}
		if opts.APKKey, err = apk.ParsePrivateKey(data); err != nil {
			return fmt.Errorf("apk signing key %s: %w", o.key, err)
		}
	}
	var buildTime time.Time
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q is not a Unix time", v)
		}
		buildTime = time.Unix(n, 0)
	}
	if err := os.MkdirAll(o.target, 0o755); err != nil {
		return err
	}
	for _, file := range files {
		if err := convertOne(cmd, g, file, formats, o.target, buildTime, opts); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	return nil
}

func convertOne(cmd *cobra.Command, g *globalOptions, file string, formats []build.Format, target string, buildTime time.Time, opts build.Options) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	// The payload is extracted next to the output, which needs the room
	// anyway, rather than into a possibly small /tmp.
	dir, err := os.MkdirTemp(target, ".packhouse-convert-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d, err := convert.ReadDeb(cmd.Context(), f, dir, convert.DefaultLimits)
	if err != nil {
		return err
	}
	for _, bf := range formats {
		p, notes, err := convert.Package(d, bf.Spec, buildTime)
		if err != nil {
			return fmt.Errorf("to %s: %w", bf.Name, err)
		}
		for _, n := range notes.List() {
			fmt.Fprintf(g.stderr, "%s -> %s: %s\n", file, bf.Name, n)
		}
		if bf.Name == "deb" {
			fmt.Fprintf(g.stderr, "%s -> deb: already a deb; written again from the parsed package\n", file)
		}
		r, err := build.Write(cmd.Context(), bf, p, target, opts)
		if err != nil {
			return err
		}
		fmt.Fprintln(g.stdout, r.Path)
	}
	return nil
}
