package cli

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/packhouse/packhouse/internal/server"
	"github.com/packhouse/packhouse/internal/sign"
)

// serveConfig is the server's configuration file; flags and environment
// variables override it.
type serveConfig struct {
	Listen         string `yaml:"listen"`
	Data           string `yaml:"data"`
	PublicURL      string `yaml:"public_url"`
	ReadToken      bool   `yaml:"read_token"`
	KeyAlgorithm   string `yaml:"key_algorithm"`
	MaxPackageSize int64  `yaml:"max_package_size"`
	LogFormat      string `yaml:"log_format"`
	LogLevel       string `yaml:"log_level"`
	LazyPublish    bool   `yaml:"lazy_publish"`
}

func newServeCmd(g *globalOptions) *cobra.Command {
	var configPath string
	cfg := serveConfig{Listen: "127.0.0.1:8080", Data: "packhouse-data", LogFormat: "text", LogLevel: "info"}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the packhouse server (SQLite and a local folder by default)",
		Long: `Run the packhouse server. With no configuration it keeps everything in
./packhouse-data: SQLite metadata, package blobs and the signing key, all
made on first start, together with an admin token that is shown once.

Settings come from flags, else environment variables (PACKHOUSE_LISTEN,
PACKHOUSE_DATA, PACKHOUSE_PUBLIC_URL), else the --config YAML file (keys:
listen, data, public_url, read_token, key_algorithm, max_package_size,
log_format, log_level, lazy_publish), else the defaults.

A push publishes its branch's views at once, in the background, so that
the next client finds them made; with --lazy-publish, views are published
only when they are first read after a change.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if configPath != "" {
				if err := readServeConfig(configPath, &cfg); err != nil {
					return err
				}
			}
			for flag, env := range map[string]string{"listen": "PACKHOUSE_LISTEN", "data": "PACKHOUSE_DATA", "public-url": "PACKHOUSE_PUBLIC_URL"} {
				if v := os.Getenv(env); v != "" && !cmd.Flags().Changed(flag) {
					cmd.Flags().Set(flag, v)
				}
			}
			// Flags (and the environment, set as flags above) win over
			// the file.
			flags := cmd.Flags()
			strs := map[string]*string{
				"listen": &cfg.Listen, "data": &cfg.Data, "public-url": &cfg.PublicURL,
				"key-algorithm": &cfg.KeyAlgorithm, "log-format": &cfg.LogFormat, "log-level": &cfg.LogLevel,
			}
			for name, to := range strs {
				if flags.Changed(name) {
					*to, _ = flags.GetString(name)
				}
			}
			if flags.Changed("read-token") {
				cfg.ReadToken, _ = flags.GetBool("read-token")
			}
			if flags.Changed("lazy-publish") {
				cfg.LazyPublish, _ = flags.GetBool("lazy-publish")
			}
			if flags.Changed("max-package-size") {
				cfg.MaxPackageSize, _ = flags.GetInt64("max-package-size")
			}
			log, err := newLogger(g, cfg.LogFormat, cfg.LogLevel)
			if err != nil {
				return err
			}
			sc := server.Config{
				Listen: cfg.Listen, Data: cfg.Data, PublicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
				ReadToken: cfg.ReadToken, KeyAlgo: sign.Algorithm(cfg.KeyAlgorithm),
				Logger: log, Out: g.stdout,
			}
			sc.Service.MaxPackageSize = cfg.MaxPackageSize
			sc.Service.LazyPublish = cfg.LazyPublish
			srv, err := server.Open(cmd.Context(), sc)
			if err != nil {
				return err
			}
			srv.PrintAptHelp()
			return srv.Serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "YAML configuration file")
	f.String("listen", cfg.Listen, "address to listen on (env PACKHOUSE_LISTEN)")
	f.String("data", cfg.Data, "data folder (env PACKHOUSE_DATA)")
	f.String("public-url", "", "URL clients reach the server at (env PACKHOUSE_PUBLIC_URL; default from --listen)")
	f.Bool("read-token", false, "require a token to read repositories, not only to change them")
	f.String("key-algorithm", "", "algorithm of the signing key made on first start: rsa3072 (default), rsa4096, ed25519")
	f.Int64("max-package-size", 0, "largest package accepted, in bytes (default 8 GiB)")
	f.Bool("lazy-publish", false, "publish a view when it is first read after a change, not after each push")
	f.String("log-format", cfg.LogFormat, "log format: text or json")
	f.String("log-level", cfg.LogLevel, "log level: debug, info, warn, error")
	return cmd
}

func readServeConfig(path string, cfg *serveConfig) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func newLogger(g *globalOptions, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
