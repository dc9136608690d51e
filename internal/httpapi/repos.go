package httpapi

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/client"
	"github.com/packhouse/packhouse/internal/repoconfig"
	"github.com/packhouse/packhouse/internal/service"
)

// cutLast splits p into what comes before its last n elements and those
// elements. Branch names may contain '/', so a view's files are found from
// the end of the path.
func cutLast(p string, n int) (string, []string, bool) {
	parts := strings.Split(p, "/")
	if len(parts) <= n {
		return "", nil, false
	}
	return strings.Join(parts[:len(parts)-n], "/"), parts[len(parts)-n:], true
}

// setIndexCache sets how long an index may be cached: a short time for
// names that every publication reuses, forever for names that carry a
// hash.
func setIndexCache(w http.ResponseWriter, c service.Content) {
	if c.Immutable {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=10")
	}
}

// keys says which keys the server signs with, for clients' configuration.
func (s *server) keys(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, client.Keys{
		Fingerprint: s.svc.Key().Fingerprint(),
		OpenPGP:     s.base(r) + "/keys/packhouse.asc",
		APKKeyName:  s.svc.APKKeyName(),
	})
	return nil
}

// base is the server's URL as clients reach it.
func (s *server) base(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimSuffix(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// dnf repositories: /rpm/REPO/BRANCH/repodata/..., the packages below
// /rpm/REPO/BRANCH/packages/, and a .repo file at /rpm/REPO/BRANCH/REPO.repo.

func (s *server) rpmFile(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	repo, p := r.PathValue("repo"), r.PathValue("path")
	if suite, ok := strings.CutSuffix(p, "/"+repo+".repo"); ok {
		if err := s.svc.CheckView(r.Context(), repo, suite); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		io.WriteString(w, repoconfig.RPM(repoconfig.View{Server: s.base(r), Repo: repo, Branch: suite}, r.URL.Query().Get("gpgcheck") != "0"))
		return nil
	}
	var suite, file string
	switch {
	case strings.Contains(p, "/packages/"):
		i := strings.LastIndex(p, "/packages/")
		suite, file = p[:i], p[i+1:]
	case strings.Contains(p, "/repodata/"):
		i := strings.LastIndex(p, "/repodata/")
		suite, file = p[:i], p[i+1:]
	default:
		return fmt.Errorf("%s: %w", r.URL.Path, service.ErrNotFound)
	}
	c, pkg, err := s.svc.RPMFile(r.Context(), repo, suite, file)
	if err != nil {
		return err
	}
	if pkg != nil {
		return s.servePackage(w, r, pkg, "application/x-rpm")
	}
	setIndexCache(w, c)
	switch {
	case strings.HasSuffix(file, ".gz"):
		w.Header().Set("Content-Type", "application/gzip")
	case strings.HasSuffix(file, ".asc"):
		w.Header().Set("Content-Type", "application/pgp-signature")
	case strings.HasSuffix(file, ".key"):
		w.Header().Set("Content-Type", "application/pgp-keys")
	default:
		w.Header().Set("Content-Type", "application/xml")
	}
	return s.serveContent(w, r, c)
}

// pacman repositories: /arch/REPO/BRANCH/ARCH/NAME.db and .files (with
// .sig), and the packages by file name beside them.

func (s *server) archFile(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	suite, last, ok := cutLast(r.PathValue("path"), 2)
	if !ok {
		return fmt.Errorf("%s: %w", r.URL.Path, service.ErrNotFound)
	}
	c, pkg, err := s.svc.ArchFile(r.Context(), r.PathValue("repo"), suite, last[0], last[1])
	if err != nil {
		return err
	}
	if pkg != nil {
		return s.servePackage(w, r, pkg, "application/octet-stream")
	}
	setIndexCache(w, c)
	if strings.HasSuffix(last[1], ".sig") {
		w.Header().Set("Content-Type", "application/pgp-signature")
	} else {
		w.Header().Set("Content-Type", "application/gzip")
	}
	return s.serveContent(w, r, c)
}

// apk repositories: /apk/REPO/BRANCH/ARCH/APKINDEX.tar.gz and
// /apk/REPO/BRANCH/ARCH/NAME-VERSION.apk, as apk asks for them.

func (s *server) apkKey(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("name") != s.svc.APKKeyName()+".rsa.pub" {
		return fmt.Errorf("apk key %s: %w", r.PathValue("name"), service.ErrNotFound)
	}
	b, err := s.svc.APKPublicKey()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
	return nil
}

func (s *server) apkFile(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	suite, last, ok := cutLast(r.PathValue("path"), 2)
	if !ok {
		return fmt.Errorf("%s: %w", r.URL.Path, service.ErrNotFound)
	}
	c, p, err := s.svc.APKFile(r.Context(), r.PathValue("repo"), suite, last[0], last[1])
	if err != nil {
		return err
	}
	if p != nil {
		return s.servePackage(w, r, p, "application/vnd.apk")
	}
	setIndexCache(w, c)
	w.Header().Set("Content-Type", "application/gzip")
	return s.serveContent(w, r, c)
}

// Plain files: /files/REPO/BRANCH/ lists them (index.json for scripts),
// /files/REPO/BRANCH/-/NAME/VERSION/FILENAME is each one's stable URL,
// /files/REPO/BRANCH/-/NAME/latest the newest of a name, and SHA256SUMS
// with SHA256SUMS.asc the signed list of checksums.

func (s *server) plainFile(w http.ResponseWriter, r *http.Request) error {
	if err := s.readAllowed(r); err != nil {
		return err
	}
	repo, p := r.PathValue("repo"), r.PathValue("path")
	if suite, rest, ok := strings.Cut(p, "/-/"); ok {
		parts := strings.Split(rest, "/")
		switch {
		case len(parts) == 2 && parts[1] == "latest":
			f, err := s.svc.LatestPlainFile(r.Context(), repo, suite, parts[0], r.URL.Query().Get("arch"))
			if err != nil {
				return err
			}
			w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Package.Filename}))
			w.Header().Set("Content-Location", plainURL(repo, suite, f))
			w.Header().Set("X-Packhouse-Version", f.Version)
			return s.servePlain(w, r, f, false)
		case len(parts) == 3:
			pkg, err := s.svc.PlainFileAt(r.Context(), repo, suite, parts[0], parts[1], parts[2])
			if err != nil {
				return err
			}
			return s.servePlain(w, r, &service.PlainFile{Name: pkg.Name, Version: pkg.Version, Arch: pkg.Arch, Package: *pkg}, true)
		}
		return fmt.Errorf("%s: %w", r.URL.Path, service.ErrNotFound)
	}
	for _, name := range []string{"SHA256SUMS", "SHA256SUMS.asc"} {
		if suite, ok := strings.CutSuffix(p, "/"+name); ok {
			c, err := s.svc.PlainSums(r.Context(), repo, suite, name)
			if err != nil {
				return err
			}
			setIndexCache(w, c)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			return s.serveContent(w, r, c)
		}
	}
	if suite, ok := strings.CutSuffix(p, "/index.json"); ok {
		return s.plainList(w, r, repo, suite, false)
	}
	if suite, ok := strings.CutSuffix(p, "/"); ok {
		return s.plainList(w, r, repo, suite, true)
	}
	// A view's page without its slash: relative links need it.
	http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
	return nil
}

func plainURL(repo, suite string, f *service.PlainFile) string {
	return "/files/" + repo + "/" + suite + "/-/" + f.Path()
}

func (s *server) servePlain(w http.ResponseWriter, r *http.Request, f *service.PlainFile, immutable bool) error {
	ct := mime.TypeByExtension(extOf(f.Package.Filename))
	if ct == "" {
		ct = "application/octet-stream"
	}
	if !immutable {
		// The newest version changes with pushes.
		d, err := blob.ParseDigest(f.Package.SHA256)
		if err != nil {
			return err
		}
		rc, err := s.svc.Blobs().Open(r.Context(), d)
		if err != nil {
			return err
		}
		defer rc.Close()
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "public, max-age=10")
		w.Header().Set("ETag", `"`+f.Package.SHA256+`"`)
		http.ServeContent(w, r, "", f.Package.Created, rc)
		return nil
	}
	return s.servePackage(w, r, &f.Package, ct)
}

func extOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// plainEntry is one file of a listing.
type plainEntry struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Arch     string `json:"arch"`
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	URL      string `json:"url"`
	Latest   bool   `json:"latest"` // the newest version of its name and architecture
	Created  string `json:"created"`
}

func (s *server) plainList(w http.ResponseWriter, r *http.Request, repo, suite string, html bool) error {
	files, err := s.svc.PlainFiles(r.Context(), repo, suite)
	if err != nil {
		return err
	}
	out := make([]plainEntry, len(files))
	seen := map[string]bool{}
	for i := range files {
		f := &files[i]
		key := f.Name + "\x00" + f.Arch
		out[i] = plainEntry{Name: f.Name, Version: f.Version, Arch: f.Arch, Filename: f.Package.Filename, Size: f.Package.Size,
			SHA256: f.Package.SHA256, URL: plainURL(repo, suite, f), Latest: !seen[key], Created: f.Package.Created.UTC().Format("2006-01-02T15:04:05Z")}
		seen[key] = true
	}
	w.Header().Set("Cache-Control", "public, max-age=10")
	if !html {
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(map[string]any{"repository": repo, "branch": suite, "files": out})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return listingPage.Execute(w, map[string]any{"Repo": repo, "Branch": suite, "Files": out})
}

var listingPage = template.Must(template.New("files").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Repo}} at {{.Branch}}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left}td.n{text-align:right}tr:nth-child(even){background:#f4f4f4}code{font-size:.85em}</style>
</head><body>
<h1>{{.Repo}} at {{.Branch}}</h1>
<p><a href="index.json">index.json</a> · <a href="SHA256SUMS">SHA256SUMS</a> (<a href="SHA256SUMS.asc">signature</a>)</p>
<table><tr><th>Name</th><th>Version</th><th>Architecture</th><th>File</th><th>Size</th><th>SHA-256</th></tr>
{{range .Files}}<tr><td>{{.Name}}</td><td>{{.Version}}{{if .Latest}} (<a href="-/{{.Name}}/latest{{if ne .Arch "any"}}?arch={{.Arch}}{{end}}">latest</a>){{end}}</td><td>{{.Arch}}</td><td><a href="-/{{.Name}}/{{.Version}}/{{.Filename}}">{{.Filename}}</a></td><td class="n">{{.Size}}</td><td><code>{{.SHA256}}</code></td></tr>
{{else}}<tr><td colspan="6">No files.</td></tr>
{{end}}</table></body></html>
`))
