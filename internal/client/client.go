package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	defaultAttempts   = 4
	defaultMinBackoff = 500 * time.Millisecond
	defaultMaxBackoff = 15 * time.Second
	userAgent         = "packhouse-client"
	// maxErrorBody bounds what is read of an error answer: it is only ever
	// a short JSON object, or a proxy's HTML page.
	maxErrorBody = 64 << 10
)

// Client talks to one packhouse server. It is safe for concurrent use.
type Client struct {
	base       string // scheme://host[/prefix], no trailing slash
	token      string
	http       *http.Client
	userAgent  string
	attempts   int
	minBackoff time.Duration
	maxBackoff time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default HTTP client.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithAttempts sets how many times a request is tried in all when it fails
// temporarily (default 4). One means no retries.
func WithAttempts(n int) Option {
	return func(c *Client) { c.attempts = max(n, 1) }
}

// WithBackoff sets the first wait between attempts and the longest one; the
// wait doubles after each attempt, with jitter.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(c *Client) { c.minBackoff, c.maxBackoff = minWait, max(minWait, maxWait) }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the server at baseURL (for example
// "https://packages.example.com", or with a path prefix when the server is
// mounted below one). token may be empty for anonymous reads.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("server URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host or https://host", baseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base:       strings.TrimRight(u.String(), "/"),
		token:      token,
		http:       &http.Client{Transport: newTransport()},
		userAgent:  userAgent,
		attempts:   defaultAttempts,
		minBackoff: defaultMinBackoff,
		maxBackoff: defaultMaxBackoff,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// newTransport has no overall timeout: a large upload may legitimately take
// many minutes, and the caller's context bounds it. The timeouts bound the
// steps that should be quick.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	// Counted from the end of the request body: the server verifies,
	// parses and commits before it answers, and a batch check of 10,000
	// entries runs one transaction.
	t.ResponseHeaderTimeout = 2 * time.Minute
	t.IdleConnTimeout = 90 * time.Second
	// Room for parallel uploads to keep their connections between files.
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 64
	// HTTP/2 would multiplex all parallel uploads over one TCP connection
	// whose flow-control window the server sizes (1 MB by default in Go),
	// which caps bulk upload throughput on long links. Separate HTTP/1.1
	// connections each grow their own TCP window.
	t.ForceAttemptHTTP2 = false
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	return t
}

// request is one API call. body, when not nil, is called once per attempt so
// that a retry sends the bytes again from the start.
type request struct {
	method     string
	path       string // below /api/v1, already escaped
	query      url.Values
	header     http.Header
	body       func() (io.ReadCloser, error)
	size       int64 // Content-Length of body
	idempotent bool
}

// apiPath joins path segments below /api/v1, escaping each one.
func apiPath(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// do sends r, retrying temporary failures, and decodes a 2xx JSON answer
// into out (when out is not nil). It returns the status of the last answer.
func (c *Client) do(ctx context.Context, r request, out any) (int, error) {
	for attempt := 1; ; attempt++ {
		status, err := c.once(ctx, r, out)
		if err == nil || attempt >= c.attempts || ctx.Err() != nil || !c.retryable(r, err) {
			return status, err
		}
		t := time.NewTimer(c.backoff(attempt, err))
		select {
		case <-ctx.Done():
			t.Stop()
			return status, err
		case <-t.C:
		}
	}
}

// retryable decides whether to try r again. A request that is not
// idempotent (creating a token) is only repeated when the server said it
// did not act on it; after a lost connection it may well have.
func (c *Client) retryable(r request, err error) bool {
	if r.idempotent {
		return IsTemporary(err)
	}
	ae, ok := errors.AsType[*APIError](err)
	return ok && (ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable)
}

// backoff doubles from minBackoff up to maxBackoff, and picks a point in the
// upper half of that at random, so that many clients failed by one server
// restart do not return in step. A Retry-After from the server wins.
func (c *Client) backoff(attempt int, err error) time.Duration {
	if ae, ok := errors.AsType[*APIError](err); ok && ae.hasRetryAfter {
		return min(ae.retryAfter, c.maxBackoff)
	}
	d := c.minBackoff << (attempt - 1)
	if d <= 0 || d > c.maxBackoff {
		d = c.maxBackoff
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half)
}

func (c *Client) once(ctx context.Context, r request, out any) (int, error) {
	u := c.base + "/api/v1" + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var (
		body io.ReadCloser = http.NoBody
		sb   *sizedBody
	)
	if r.body != nil {
		rc, err := r.body()
		if err != nil {
			return 0, err
		}
		sb = &sizedBody{r: rc, want: r.size}
		body = sb
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		body.Close()
		return 0, err
	}
	if r.body != nil {
		req.ContentLength = r.size
		// Redirects (307/308) replay the body from a fresh open.
		req.GetBody = func() (io.ReadCloser, error) {
			rc, err := r.body()
			if err != nil {
				return nil, err
			}
			sb = &sizedBody{r: rc, want: r.size}
			return sb, nil
		}
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		// The transport reports a body of the wrong length as its own
		// error; the file changing under us is not worth a retry.
		if sb != nil {
			if berr := sb.failure(); berr != nil {
				return 0, berr
			}
		}
		return 0, err
	}
	defer func() {
		// Draining lets the connection go back to the pool.
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The server may answer (400 checksum_mismatch) before the
		// transport notices the file grew; the cause is the file.
		if sb != nil {
			if berr := sb.failure(); berr != nil {
				return resp.StatusCode, berr
			}
		}
		return resp.StatusCode, decodeError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: reading answer: %w", r.method, r.path, err)
	}
	return resp.StatusCode, nil
}

func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, e); err != nil || e.Code == "" {
		// Not ours: a proxy or load balancer answered.
		e.Code, e.Message = "", strings.TrimSpace(string(raw))
		if len(e.Message) > 200 || strings.HasPrefix(e.Message, "<") {
			e.Message = ""
		}
	}
	e.Status = resp.StatusCode
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			e.retryAfter, e.hasRetryAfter = time.Duration(secs)*time.Second, true
		}
	}
	return e
}

func (c *Client) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: path, query: query, idempotent: true}, out)
	return err
}

// postJSON sends in as the JSON body. idempotent says whether a lost
// connection may be retried (see retryable).
func (c *Client) postJSON(ctx context.Context, path string, query url.Values, in, out any, idempotent bool) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	r := request{
		method:     http.MethodPost,
		path:       path,
		query:      query,
		header:     http.Header{"Content-Type": {"application/json"}},
		body:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		size:       int64(len(b)),
		idempotent: idempotent,
	}
	_, err = c.do(ctx, r, out)
	return err
}

// delete is idempotent: removing what is already gone answers 404, which
// callers may treat as done.
func (c *Client) delete(ctx context.Context, path string, query url.Values) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: path, query: query, idempotent: true}, nil)
	return err
}
