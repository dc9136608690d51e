package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Error codes the server puts in the "code" field of an error body.
const (
	CodeInvalidRequest   = "invalid_request"
	CodeInvalidPackage   = "invalid_package"
	CodeChecksumMismatch = "checksum_mismatch"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeBlobUnknown      = "blob_unknown"
	CodeConflict         = "conflict"
	CodeLengthRequired   = "length_required"
	CodeTooLarge         = "too_large"
	CodeInternal         = "internal"
	CodeUnavailable      = "unavailable"
)

// APIError is an error answer from the server. Status is the HTTP status; it
// is zero for the per-entry errors of a batch push, which carry only a code
// and a message.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`

	retryAfter    time.Duration // from a Retry-After header
	hasRetryAfter bool
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	switch {
	case e.Code != "" && e.Status != 0:
		return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, msg, e.Status)
	case e.Code != "":
		return e.Code + ": " + msg
	default:
		return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
	}
}

// Temporary reports whether the same request may succeed later.
func (e *APIError) Temporary() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// IsTemporary reports whether err is worth retrying: an APIError that says
// so, or a failure to reach the server or to read its answer. Certificate
// errors, DNS names that do not exist and cancelled contexts are not
// temporary.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Temporary()
	}
	// context.DeadlineExceeded is a net.Error too; the caller's deadline
	// passing is not the server's fault.
	if errors.Is(err, errBodyChanged) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		dnsErr     *net.DNSError
	)
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalidErr) {
		return false
	}
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
