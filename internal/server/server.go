// Package server assembles a running packhouse server from its
// configuration: the data folder, the stores, the signing key, the first
// admin token, the HTTP server and its graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/packhouse/packhouse/internal/blob/fs"
	"github.com/packhouse/packhouse/internal/httpapi"
	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/meta/sqlite"
	"github.com/packhouse/packhouse/internal/service"
	"github.com/packhouse/packhouse/internal/sign"
)

// Config is what a server runs with.
type Config struct {
	Listen    string // host:port
	Data      string // data folder: metadata, blobs, keys
	PublicURL string // how clients reach the server; derived from Listen if empty
	ReadToken bool   // reading repositories needs a token
	KeyAlgo   sign.Algorithm
	Service   service.Config
	Logger    *slog.Logger
	// Out receives what an operator must see once: the admin token and
	// how to point apt at the server.
	Out io.Writer
}

// Server is a packhouse server ready to serve.
type Server struct {
	cfg      Config
	meta     meta.Store
	svc      *service.Service
	listener net.Listener
	http     *http.Server
}

// Open prepares the data folder (creating it, the signing key and the
// admin token on first start) and binds the listening socket.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.Data, "keys", "signing.asc"), cfg.KeyAlgo, cfg.Logger)
	if err != nil {
		return nil, err
	}
	m, err := sqlite.Open(ctx, filepath.Join(cfg.Data, "meta.db"))
	if err != nil {
		return nil, err
	}
	blobs, err := fs.New(filepath.Join(cfg.Data, "blobs"))
	if err != nil {
		m.Close()
		return nil, err
	}
	cfg.Service.Logger = cfg.Logger
	svc := service.New(m, blobs, key, cfg.Service)
	s := &Server{cfg: cfg, meta: m, svc: svc}
	if err := s.firstAdminToken(ctx); err != nil {
		s.close()
		return nil, err
	}
	s.listener, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.close()
		return nil, err
	}
	// A configured public URL also goes into the configuration files the
	// server hands out; without one, those take it from each request.
	configured := s.cfg.PublicURL
	if s.cfg.PublicURL == "" {
		s.cfg.PublicURL = "http://" + s.listener.Addr().String()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.http = &http.Server{
		Handler:           httpapi.New(svc, httpapi.Options{Logger: cfg.Logger, ReadToken: cfg.ReadToken, Registry: reg, PublicURL: configured}),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// URL is where the server is reached.
func (s *Server) URL() string { return s.cfg.PublicURL }

// Service is the server's service, for tests.
func (s *Server) Service() *service.Service { return s.svc }

// Serve serves until ctx is done, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to 30 s), and closes the
// stores.
func (s *Server) Serve(ctx context.Context) error {
	s.cfg.Logger.Info("serving", "url", s.cfg.PublicURL, "listen", s.listener.Addr().String(), "data", s.cfg.Data)
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.listener) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.cfg.Logger.Info("shutting down")
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = s.http.Shutdown(shutdown)
		cancel()
	}
	s.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) close() {
	s.svc.Close()
	s.meta.Close()
	if s.listener != nil {
		s.listener.Close()
	}
}

func loadOrCreateKey(path string, algo sign.Algorithm, log *slog.Logger) (*sign.Key, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := sign.Load(b)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if algo == "" {
		algo = sign.RSA3072
	}
	k, err := sign.Generate("packhouse repository signing key", "", algo, time.Now())
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	armored, err := k.ArmoredPrivate()
	if err != nil {
		return nil, err
	}
	if err := writeSecret(path, armored); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	log.Info("generated signing key", "fingerprint", k.Fingerprint(), "path", path, "algorithm", algo)
	return k, nil
}

// writeSecret writes a file only its owner can read, atomically.
func writeSecret(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// firstAdminToken makes an admin token when there is no token at all, and
// shows it once. Only its hash is kept in the database; the secret is also
// written to admin-token in the data folder (mode 0600), so that the
// operator of a fresh server can find it again.
func (s *Server) firstAdminToken(ctx context.Context) error {
	tokens, err := s.meta.Tokens(ctx)
	if err != nil || len(tokens) > 0 {
		return err
	}
	_, secret, err := s.svc.CreateToken(ctx, meta.TokenAdmin, nil, "made on first start")
	if err != nil {
		return err
	}
	path := filepath.Join(s.cfg.Data, "admin-token")
	if err := writeSecret(path, []byte(secret+"\n")); err != nil {
		return err
	}
	fmt.Fprintf(s.cfg.Out, "Admin token (shown once, also in %s):\n\n    %s\n\n", path, secret)
	return nil
}

// PrintAptHelp tells the operator how to point apt at the server.
func (s *Server) PrintAptHelp() {
	u := s.cfg.PublicURL
	fmt.Fprintf(s.cfg.Out, `packhouse is serving %[1]s (data in %[2]s)

Create a project and a repository, and push a package:

    export PACKHOUSE_URL=%[1]s PACKHOUSE_TOKEN=<admin token>
    packhouse project create myapp --default-branch main --repo myrepo
    packhouse push --project myapp --branch main ./myapp_1.0_amd64.deb

Point apt at repository "myrepo" as seen from branch "main":

    packhouse apt-source myrepo main | sudo tee /etc/apt/sources.list.d/myrepo.sources
    sudo apt-get update

or by hand:

    curl -fsSL %[1]s/keys/packhouse.asc | sudo tee /etc/apt/keyrings/packhouse.asc
    echo "deb [signed-by=/etc/apt/keyrings/packhouse.asc] %[1]s/apt/myrepo main main" | sudo tee /etc/apt/sources.list.d/myrepo.list

`, u, s.cfg.Data)
}
