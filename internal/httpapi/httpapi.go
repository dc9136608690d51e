// Package httpapi serves packhouse over HTTP: the JSON API under /api/v1
// (docs/api.md), apt repositories under /apt, the signing key under /keys,
// health and metrics. Handlers parse requests and print answers; the
// service does the work.
package httpapi

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/client"
	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/service"
)

// Options configure the handler.
type Options struct {
	Logger *slog.Logger
	// ReadToken makes reading repositories need a token too (HTTP basic
	// auth, any user name, the token as password: what apt's auth.conf,
	// dnf and pacman send).
	ReadToken bool
	// Registry receives the HTTP metrics; nil for none.
	Registry *prometheus.Registry
	// MaxJSON bounds JSON request bodies (default 16 MiB).
	MaxJSON int64
	// PublicURL is how clients reach the server, for the configuration
	// files it serves; when empty, it is taken from each request.
	PublicURL string
}

type server struct {
	svc  *service.Service
	opts Options
	log  *slog.Logger
	// bodyBytes counts package bytes received, so that an operator (and a
	// test) can see that checksum-first pushes send none.
	bodyBytes prometheus.Counter
}

// New returns the handler for everything packhouse serves.
func New(svc *service.Service, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxJSON == 0 {
		opts.MaxJSON = 16 << 20
	}
	s := &server{svc: svc, opts: opts, log: opts.Logger}
	s.bodyBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "packhouse_push_body_bytes_total", Help: "Package bytes received in push bodies.",
	})
	if opts.Registry != nil {
		opts.Registry.MustRegister(s.bodyBytes)
	}
	mux := http.NewServeMux()
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, s.wrap(pattern, h))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	handle("GET /readyz", s.ready)
	handle("GET /keys/packhouse.asc", s.publicKey)

	handle("PUT /api/v1/projects/{project}/push", s.push)
	handle("POST /api/v1/projects/{project}/push", s.pushCheck)
	handle("GET /api/v1/projects", s.listProjects)
	handle("POST /api/v1/projects", s.createProject)
	handle("GET /api/v1/projects/{project}/branches", s.listBranches)
	handle("GET /api/v1/projects/{project}/packages", s.listPackages)
	handle("DELETE /api/v1/projects/{project}/packages/{sha256}", s.removePackage)
	handle("GET /api/v1/packages/{sha256}", s.getPackage)
	handle("GET /api/v1/repositories", s.listRepositories)
	handle("POST /api/v1/repositories", s.createRepository)
	handle("GET /api/v1/tokens", s.listTokens)
	handle("POST /api/v1/tokens", s.createToken)
	handle("DELETE /api/v1/tokens/{id}", s.deleteToken)

	handle("GET /apt/{repo}/dists/{path...}", s.aptDist)
	handle("GET /apt/{repo}/pool/{path...}", s.aptPool)
	handle("GET /api/v1/keys", s.keys)
	handle("GET /rpm/{repo}/{path...}", s.rpmFile)
	handle("GET /arch/{repo}/{path...}", s.archFile)
	handle("GET /apk/keys/{name}", s.apkKey)
	handle("GET /apk/{repo}/{path...}", s.apkFile)
	handle("GET /files/{repo}/{path...}", s.plainFile)

	if opts.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	var h http.Handler = mux
	if opts.Registry != nil {
		h = instrument(opts.Registry, h)
	}
	return h
}

// wrap turns a handler that returns an error into an http.Handler that
// writes the error as JSON.
func (s *server) wrap(pattern string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}

// token returns the request's token: a bearer token, or the password of
// HTTP basic auth.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	if _, pw, ok := r.BasicAuth(); ok {
		return pw
	}
	return ""
}

func (s *server) auth(r *http.Request) (meta.Token, error) {
	return s.svc.Authenticate(r.Context(), token(r))
}

func (s *server) admin(r *http.Request) error {
	t, err := s.auth(r)
	if err != nil {
		return err
	}
	return service.MayAdmin(t)
}

func (s *server) readAllowed(r *http.Request) error {
	if !s.opts.ReadToken {
		return nil
	}
	_, err := s.auth(r)
	return err
}

func (s *server) readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.opts.MaxJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fmt.Errorf("request body: %v: %w", err, errBadRequest)
	}
	return nil
}

func (s *server) ready(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.svc.Meta().Projects(r.Context()); err != nil {
		return fmt.Errorf("metadata store: %w", err)
	}
	if err := s.svc.Blobs().List(r.Context(), func(blob.Info) error { return io.EOF }); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("blob store: %w", err)
	}
	io.WriteString(w, "ready\n")
	return nil
}

func (s *server) publicKey(w http.ResponseWriter, r *http.Request) error {
	b, err := s.svc.Key().ArmoredPublic()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
	return nil
}

// Pushing

func (s *server) push(w http.ResponseWriter, r *http.Request) error {
	project, q := r.PathValue("project"), r.URL.Query()
	t, err := s.auth(r)
	if err != nil {
		return err
	}
	if err := service.MayPush(t, project); err != nil {
		return err
	}
	branch, replace := q.Get("branch"), q.Get("replace") == "true"
	if r.Header.Get("Content-Type") == "application/x-tar" {
		return s.pushMany(w, r, project, branch, replace)
	}
	var res service.PushResult
	if strings.EqualFold(r.Header.Get("X-Checksum-Deploy"), "true") {
		if r.ContentLength > 0 {
			return fmt.Errorf("X-Checksum-Deploy takes no body: %w", errBadRequest)
		}
		res, err = s.svc.Deploy(r.Context(), project, branch, r.Header.Get("X-Checksum-Sha256"), replace)
	} else {
		if r.ContentLength < 0 {
			return fmt.Errorf("send the package with a Content-Length: %w", errLengthRequired)
		}
		max := s.svc.Config().MaxPackageSize
		if r.ContentLength > max {
			return fmt.Errorf("package of %d bytes exceeds the limit of %d: %w", r.ContentLength, max, service.ErrTooLarge)
		}
		res, err = s.svc.Push(r.Context(), service.PushRequest{
			Project: project, Branch: branch, Replace: replace,
			Filename: q.Get("filename"),
			Plain:    plainFile(q.Get("name"), q.Get("version"), q.Get("arch")),
			Body:     &countingReader{r: http.MaxBytesReader(w, r.Body, max), c: s.bodyBytes},
			Size:     r.ContentLength,
			Claimed: service.Checksums{
				SHA256: r.Header.Get("X-Checksum-Sha256"), MD5: r.Header.Get("X-Checksum-Md5"),
				SHA1: r.Header.Get("X-Checksum-Sha1"), SHA512: r.Header.Get("X-Checksum-Sha512"),
			},
		})
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Status == meta.Present {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"status": res.Status, "package": packageJSON(res.Package, false)})
	return nil
}

func (s *server) pushCheck(w http.ResponseWriter, r *http.Request) error {
	project, q := r.PathValue("project"), r.URL.Query()
	t, err := s.auth(r)
	if err != nil {
		return err
	}
	if err := service.MayPush(t, project); err != nil {
		return err
	}
	var req struct {
		Packages []client.PushEntry `json:"packages"`
	}
	if err := s.readJSON(w, r, &req); err != nil {
		return err
	}
	shas := make([]string, len(req.Packages))
	for i, p := range req.Packages {
		shas[i] = p.SHA256
	}
	results, err := s.svc.PushCheck(r.Context(), project, q.Get("branch"), shas, q.Get("replace") == "true")
	if err != nil {
		return err
	}
	writeResults(w, results)
	return nil
}

// pushMany takes many packages in one tar stream, each entry named by the
// package's SHA-256 (docs/api.md).
func (s *server) pushMany(w http.ResponseWriter, r *http.Request, project, branch string, replace bool) error {
	// Every entry is bounded by the package limit; the stream as a whole
	// by the number of entries times that, so that it cannot be endless.
	max := s.svc.Config().MaxPackageSize
	tr := tar.NewReader(http.MaxBytesReader(w, r.Body, max*16))
	next := func() (service.ManyEntry, error) {
		h, err := tr.Next()
		if err != nil {
			return service.ManyEntry{}, err
		}
		if h.Typeflag != tar.TypeReg {
			return service.ManyEntry{}, fmt.Errorf("tar entry %q is not a regular file: %w", h.Name, errBadRequest)
		}
		x := h.PAXRecords
		return service.ManyEntry{SHA256: h.Name, Size: h.Size, Filename: x[client.PAXFilename],
			Plain: plainFile(x[client.PAXName], x[client.PAXVersion], x[client.PAXArch]),
			Body:  &countingReader{r: tr, c: s.bodyBytes}}, nil
	}
	results, err := s.svc.PushMany(r.Context(), project, branch, replace, next)
	if err != nil {
		if errors.Is(err, tar.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%v: %w", err, errBadRequest)
		}
		return err
	}
	writeResults(w, results)
	return nil
}

// plainFile is what a push says of a plain file: a name or a version
// makes the body one.
func plainFile(name, version, arch string) *service.Plain {
	if name == "" && version == "" {
		return nil
	}
	return &service.Plain{Name: name, Version: version, Arch: arch}
}

func writeResults(w http.ResponseWriter, results []service.CheckResult) {
	out := make([]client.PushResult, len(results))
	for i, res := range results {
		out[i] = client.PushResult{SHA256: res.SHA256, Status: string(res.Status)}
		if res.Package.ID != 0 {
			p := packageJSON(res.Package, false)
			out[i].Package = &p
		}
		if res.Err != nil {
			_, code := classify(res.Err)
			out[i].Status = client.StatusError
			out[i].Error = &client.APIError{Code: code, Message: res.Err.Error()}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
}

func packageJSON(p meta.Package, full bool) client.Package {
	out := client.Package{
		SHA256: p.SHA256, Size: p.Size, Format: p.Format, Name: p.Name, Version: p.Version, Architecture: p.Arch,
		Filename: p.Filename, CreatedAt: p.Created,
	}
	if full {
		out.MD5, out.SHA1, out.SHA512 = p.MD5, p.SHA1, p.SHA512
		for _, line := range splitFields(p.Control) {
			out.Control = append(out.Control, line)
		}
	}
	return out
}

// splitFields splits a stored control paragraph into fields; continuation
// lines stay with their field.
func splitFields(control string) []client.ControlField {
	var out []client.ControlField
	for _, line := range strings.Split(control, "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(out) > 0 {
			out[len(out)-1].Value += "\n" + line
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		out = append(out, client.ControlField{Name: name, Value: strings.TrimSpace(value)})
	}
	return out
}

// Listings and administration

func (s *server) listProjects(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	ps, err := s.svc.Meta().Projects(r.Context())
	if err != nil {
		return err
	}
	out := make([]client.Project, len(ps))
	for i, p := range ps {
		out[i] = client.Project{Name: p.Name, DefaultBranch: p.DefaultBranch, CreatedAt: p.Created}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out})
	return nil
}

func (s *server) createProject(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	var req struct {
		Name          string   `json:"name"`
		DefaultBranch string   `json:"default_branch"`
		Repositories  []string `json:"repositories"`
	}
	if err := s.readJSON(w, r, &req); err != nil {
		return err
	}
	if req.DefaultBranch == "" {
		req.DefaultBranch = "main"
	}
	p, err := s.svc.CreateProject(r.Context(), req.Name, req.DefaultBranch, req.Repositories)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, client.Project{Name: p.Name, DefaultBranch: p.DefaultBranch, CreatedAt: p.Created})
	return nil
}

func (s *server) project(r *http.Request) (meta.Project, error) {
	name := r.PathValue("project")
	if err := service.ValidName("project", name); err != nil {
		return meta.Project{}, err
	}
	return s.svc.Meta().Project(r.Context(), name)
}

func (s *server) listBranches(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	p, err := s.project(r)
	if err != nil {
		return err
	}
	bs, err := s.svc.Meta().Branches(r.Context(), p.ID)
	if err != nil {
		return err
	}
	out := make([]client.Branch, len(bs))
	for i, b := range bs {
		out[i] = client.Branch{Name: b.Name, PackageCount: int(b.Packages), UpdatedAt: b.Updated}
	}
	writeJSON(w, http.StatusOK, map[string]any{"branches": out})
	return nil
}

func (s *server) listPackages(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	p, err := s.project(r)
	if err != nil {
		return err
	}
	branch := r.URL.Query().Get("branch")
	if branch == "" {
		branch = p.DefaultBranch
	}
	if err := service.ValidBranch(branch); err != nil {
		return err
	}
	pkgs, err := s.svc.Meta().BranchPackages(r.Context(), p.ID, branch)
	if err != nil {
		return err
	}
	out := make([]client.Package, len(pkgs))
	for i, pk := range pkgs {
		out[i] = packageJSON(pk, false)
	}
	writeJSON(w, http.StatusOK, map[string]any{"packages": out})
	return nil
}

func (s *server) removePackage(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project")
	t, err := s.auth(r)
	if err != nil {
		return err
	}
	if err := service.MayPush(t, project); err != nil {
		return err
	}
	if err := s.svc.RemovePackage(r.Context(), project, r.URL.Query().Get("branch"), r.PathValue("sha256")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) getPackage(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	sha := strings.ToLower(r.PathValue("sha256"))
	if _, err := blob.ParseDigest(sha); err != nil {
		return fmt.Errorf("%v: %w", err, errBadRequest)
	}
	p, err := s.svc.Meta().PackageBySHA256(r.Context(), sha)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, packageJSON(p, true))
	return nil
}

func (s *server) listRepositories(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	rs, err := s.svc.Meta().Repositories(r.Context())
	if err != nil {
		return err
	}
	out := make([]client.Repository, len(rs))
	for i, repo := range rs {
		out[i] = client.Repository{Name: repo.Name, Projects: repo.Projects}
		if out[i].Projects == nil {
			out[i].Projects = []string{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"repositories": out})
	return nil
}

func (s *server) createRepository(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	var req struct {
		Name          string   `json:"name"`
		Projects      []string `json:"projects"`
		Architectures []string `json:"architectures"`
	}
	if err := s.readJSON(w, r, &req); err != nil {
		return err
	}
	repo, err := s.svc.CreateRepository(r.Context(), req.Name, req.Projects, req.Architectures)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, client.Repository{Name: repo.Name, Projects: repo.Projects})
	return nil
}

func tokenJSON(t meta.Token) client.Token {
	projects := t.Projects
	if projects == nil {
		projects = []string{}
	}
	return client.Token{ID: strconv.FormatInt(t.ID, 10), Kind: string(t.Kind), Projects: projects, Description: t.Description}
}

func (s *server) listTokens(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	ts, err := s.svc.Meta().Tokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]client.Token, len(ts))
	for i, t := range ts {
		out[i] = tokenJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	var req struct {
		Kind        string   `json:"kind"`
		Projects    []string `json:"projects"`
		Description string   `json:"description"`
	}
	if err := s.readJSON(w, r, &req); err != nil {
		return err
	}
	t, secret, err := s.svc.CreateToken(r.Context(), meta.TokenKind(req.Kind), req.Projects, req.Description)
	if err != nil {
		return err
	}
	out := tokenJSON(t)
	out.Token = secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("token id %q: %w", r.PathValue("id"), errBadRequest)
	}
	if err := s.svc.DeleteToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apt repositories

func (s *server) aptDist(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	suite, file, ok := service.SplitDist(r.PathValue("path"))
	if !ok {
		return fmt.Errorf("%s: %w", r.URL.Path, service.ErrNotFound)
	}
	c, err := s.svc.AptFile(r.Context(), r.PathValue("repo"), suite, file)
	if err != nil {
		return err
	}
	switch {
	case c.Immutable:
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		// Release files and the unhashed index names change with every
		// publication; a short cache keeps a CDN useful without hiding a
		// push for long.
		w.Header().Set("Cache-Control", "public, max-age=10")
	}
	switch {
	case strings.HasSuffix(file, ".gz"):
		w.Header().Set("Content-Type", "application/gzip")
	case strings.HasSuffix(file, ".gpg"):
		w.Header().Set("Content-Type", "application/pgp-signature")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	return s.serveContent(w, r, c)
}

// serveContent writes a dists/ file. It sets no Last-Modified: Release
// dates have whole seconds, and two publications in one second must not
// look unchanged to a client asking If-Modified-Since.
func (s *server) serveContent(w http.ResponseWriter, r *http.Request, c service.Content) error {
	etag := `"` + c.SHA256 + `"`
	w.Header().Set("ETag", etag)
	if c.Bytes != nil {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(c.Bytes))
		return nil
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Length", strconv.FormatInt(c.Size, 10))
	if r.Method == http.MethodHead {
		return nil
	}
	if err := c.WriteTo(r.Context(), s.svc, w); err != nil {
		// The headers are out: the client sees a short body, and the log
		// says why.
		s.log.Error("writing index failed", "path", r.URL.Path, "err", err)
	}
	return nil
}

func (s *server) aptPool(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	p, err := s.svc.PoolFile(r.Context(), r.PathValue("repo"), "pool/"+r.PathValue("path"))
	if err != nil {
		return err
	}
	return s.servePackage(w, r, &p, "application/vnd.debian.binary-package")
}

// servePackage writes a package's bytes: immutable, with ranges.
func (s *server) servePackage(w http.ResponseWriter, r *http.Request, p *meta.Package, contentType string) error {
	d, err := blob.ParseDigest(p.SHA256)
	if err != nil {
		return err
	}
	f, err := s.svc.Blobs().Open(r.Context(), d)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+p.SHA256+`"`)
	http.ServeContent(w, r, "", p.Created, f)
	return nil
}

type countingReader struct {
	r io.Reader
	c prometheus.Counter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.c.Add(float64(n))
	return n, err
}
