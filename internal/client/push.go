package client

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
)

// MaxBatch is the most entries the server takes in one batch push request.
const MaxBatch = 10000

// errBodyChanged marks an upload whose file no longer has the size it had
// when it was hashed.
var errBodyChanged = errors.New("file changed since it was hashed")

// PushFile is one file to upload. Open is called once per attempt; when it
// is nil, Path is opened. Path's base name is sent as the file name.
type PushFile struct {
	Path   string
	Open   func() (io.ReadCloser, error)
	Size   int64
	SHA256 string // lower-case hex
	// Name and Version, when set, push the file as a plain file (an
	// installer, an archive) rather than as a package; Arch is optional.
	Name, Version, Arch string
}

// PAX records that carry a tar-streamed file's name and, for a plain file,
// its name, version and architecture (docs/api.md).
const (
	PAXFilename = "PACKHOUSE.filename"
	PAXName     = "PACKHOUSE.name"
	PAXVersion  = "PACKHOUSE.version"
	PAXArch     = "PACKHOUSE.arch"
)

func (f PushFile) query(q url.Values) url.Values {
	if f.Path != "" {
		q.Set("filename", filepath.Base(f.Path))
	}
	for k, v := range map[string]string{"name": f.Name, "version": f.Version, "arch": f.Arch} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// tarHeader is f's entry in a tar stream: named by its SHA-256, with PAX
// records for the rest.
func (f PushFile) tarHeader() *tar.Header {
	hdr := &tar.Header{Name: f.SHA256, Size: f.Size, Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
	x := map[string]string{}
	for k, v := range map[string]string{PAXName: f.Name, PAXVersion: f.Version, PAXArch: f.Arch} {
		if v != "" {
			x[k] = v
		}
	}
	if f.Path != "" {
		x[PAXFilename] = filepath.Base(f.Path)
	}
	if len(x) > 0 {
		hdr.PAXRecords, hdr.Format = x, tar.FormatPAX
	}
	return hdr
}

// tarHeaderSize is how many bytes f's headers take in a tar stream.
func (f PushFile) tarHeaderSize() (int64, error) {
	var n countWriter
	if err := tar.NewWriter(&n).WriteHeader(f.tarHeader()); err != nil {
		return 0, err
	}
	return int64(n), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

func (f PushFile) open() (io.ReadCloser, error) {
	if f.Open != nil {
		return f.Open()
	}
	return os.Open(f.Path)
}

func pushQuery(branch string, replace bool) url.Values {
	q := url.Values{"branch": {branch}}
	if replace {
		q.Set("replace", "true")
	}
	return q
}

// PushCheck asks the server about many files at once, by checksum. The
// server links every file it already holds into the branch; the others come
// back with status StatusMissing and must be sent with PushFile. Results are
// in the order of entries. More than MaxBatch entries are sent as several
// requests, each its own transaction on the server.
func (c *Client) PushCheck(ctx context.Context, project, branch string, entries []PushEntry, replace bool) ([]PushResult, error) {
	path := apiPath("projects", project, "push")
	q := pushQuery(branch, replace)
	results := make([]PushResult, 0, len(entries))
	for start := 0; start < len(entries); start += MaxBatch {
		chunk := entries[start:min(start+MaxBatch, len(entries))]
		var out pushCheckResponse
		// Linking is idempotent, so a lost connection may be retried.
		if err := c.postJSON(ctx, path, q, pushCheckRequest{Packages: chunk}, &out, true); err != nil {
			return nil, err
		}
		if len(out.Results) != len(chunk) {
			return nil, fmt.Errorf("push check: server answered %d results for %d entries", len(out.Results), len(chunk))
		}
		results = append(results, out.Results...)
	}
	return results, nil
}

// PushFile uploads f's bytes, streamed from the file, with its checksum for
// the server to verify. Temporary failures are retried with the file opened
// again.
func (c *Client) PushFile(ctx context.Context, project, branch string, f PushFile, replace bool) (PushResult, error) {
	q := f.query(pushQuery(branch, replace))
	r := request{
		method: http.MethodPut,
		path:   apiPath("projects", project, "push"),
		query:  q,
		header: http.Header{
			"Content-Type":      {"application/octet-stream"},
			"X-Checksum-Sha256": {f.SHA256},
		},
		body:       f.open,
		size:       f.Size,
		idempotent: true,
	}
	var out pushAnswer
	if _, err := c.do(ctx, r, &out); err != nil {
		if errors.Is(err, errBodyChanged) {
			return PushResult{}, fmt.Errorf("%s: %w", f.Path, err)
		}
		return PushResult{}, err
	}
	return out.result(f.SHA256), nil
}

// PushDeploy asks the server to link the package it holds under sha256 into
// the branch, sending no body. When the server does not hold those bytes the
// result has status StatusMissing and no error: send them with PushFile.
func (c *Client) PushDeploy(ctx context.Context, project, branch, sha256 string, replace bool) (PushResult, error) {
	r := request{
		method: http.MethodPut,
		path:   apiPath("projects", project, "push"),
		query:  pushQuery(branch, replace),
		header: http.Header{
			"X-Checksum-Sha256": {sha256},
			"X-Checksum-Deploy": {"true"},
		},
		idempotent: true,
	}
	var out pushAnswer
	if _, err := c.do(ctx, r, &out); err != nil {
		if ae, ok := errors.AsType[*APIError](err); ok && ae.Code == CodeBlobUnknown {
			return PushResult{SHA256: sha256, Status: StatusMissing}, nil
		}
		return PushResult{}, err
	}
	return out.result(sha256), nil
}

// sizedBody fails when the file does not hold exactly want bytes, and
// remembers that it did, so that the failure is not taken for a broken
// connection. The transport may still read it after Do returns.
type sizedBody struct {
	r    io.ReadCloser
	want int64

	mu  sync.Mutex
	n   int64
	err error
}

func (b *sizedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += int64(n)
	switch {
	case b.n > b.want:
		b.err = fmt.Errorf("%w: more than %d bytes", errBodyChanged, b.want)
		return n, b.err
	case err == io.EOF && b.n < b.want:
		b.err = fmt.Errorf("%w: %d bytes, want %d", errBodyChanged, b.n, b.want)
		return n, b.err
	}
	return n, err
}

func (b *sizedBody) Close() error { return b.r.Close() }

func (b *sizedBody) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// PushFiles uploads many files in one request: a tar stream whose entries
// are named by their SHA-256 (docs/api.md). The server commits them in
// groups, so that thousands of small packages cost it a few flushes to disk
// rather than several each. Results are in the order of files. The stream
// is made from the files as it is sent, never held in memory.
func (c *Client) PushFiles(ctx context.Context, project, branch string, files []PushFile, replace bool) ([]PushResult, error) {
	var size int64 = 1024 // the two zero blocks that end a tar stream
	for _, f := range files {
		n, err := f.tarHeaderSize()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		size += n + (f.Size+511)/512*512
	}
	body := func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			// Buffered: the connection takes each piece the pipe gives
			// as one write, and a tar stream is made of small pieces
			// (a 512-byte header, its padding, the end's two blocks),
			// each a segment and a wakeup of the server.
			bw := bufio.NewWriterSize(pw, 64<<10)
			err := writeTar(bw, files)
			if err == nil {
				err = bw.Flush()
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	}
	r := request{
		method:     http.MethodPut,
		path:       apiPath("projects", project, "push"),
		query:      pushQuery(branch, replace),
		header:     http.Header{"Content-Type": {"application/x-tar"}},
		body:       body,
		size:       size,
		idempotent: true,
	}
	var out pushCheckResponse
	if _, err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(files) {
		return nil, fmt.Errorf("push: server answered %d results for %d files", len(out.Results), len(files))
	}
	return out.Results, nil
}

// writeTar writes files as tar entries named by SHA-256, with headers
// whose size is known before the stream is made.
func writeTar(w io.Writer, files []PushFile) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := tw.WriteHeader(f.tarHeader()); err != nil {
			return err
		}
		rc, err := f.open()
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, io.LimitReader(rc, f.Size+1))
		rc.Close()
		if err == nil && n != f.Size {
			err = fmt.Errorf("%s: %w", f.Path, errBodyChanged)
		}
		if err != nil {
			return err
		}
	}
	return tw.Close()
}
