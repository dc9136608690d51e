package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/service"
)

// errorBody is the JSON of every error answer.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusTable maps domain errors to HTTP status and code, first match wins.
var statusTable = []struct {
	err    error
	status int
	code   string
}{
	{service.ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{service.ErrForbidden, http.StatusForbidden, "forbidden"},
	{service.ErrChecksumMismatch, http.StatusBadRequest, "checksum_mismatch"},
	{service.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{service.ErrInvalidPackage, http.StatusBadRequest, "invalid_package"},
	{service.ErrInvalidName, http.StatusBadRequest, "invalid_request"},
	{errBadRequest, http.StatusBadRequest, "invalid_request"},
	{errLengthRequired, http.StatusLengthRequired, "length_required"},
	{service.ErrBlobUnknown, http.StatusNotFound, "blob_unknown"},
	{service.ErrNotFound, http.StatusNotFound, "not_found"},
	{blob.ErrNotFound, http.StatusNotFound, "not_found"},
	{service.ErrConflict, http.StatusConflict, "conflict"},
	{service.ErrExists, http.StatusConflict, "conflict"},
	{service.ErrAmbiguous, http.StatusConflict, "ambiguous"},
	{service.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
}

var (
	errBadRequest     = errors.New("bad request")
	errLengthRequired = errors.New("length required")
)

func classify(err error) (int, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, "too_large"
	}
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			return e.status, e.code
		}
	}
	return http.StatusInternalServerError, "internal"
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, code := classify(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; see the server log"
	} else {
		log.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="packhouse"`)
	}
	writeJSON(w, status, errorBody{Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
