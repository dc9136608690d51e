package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// instrument counts requests and their durations by route and status.
// The route is the pattern the request matched ("/apt/{repo}/pool/{path...}"),
// and the method one of a few: labels that came from the request as sent
// would let any client make series without end (GET /a1, /a2, …), each
// kept in memory for the life of the process.
func instrument(reg *prometheus.Registry, next http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "packhouse_http_requests_total", Help: "HTTP requests by method, route and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "packhouse_http_request_duration_seconds", Help: "HTTP request durations by method and route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"method", "route"})
	reg.MustRegister(requests, duration)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		// ServeMux sets the pattern on the request it was given.
		route := routeOf(r.Pattern)
		method := methodOf(r.Method)
		requests.WithLabelValues(method, route, strconv.Itoa(rec.status)).Inc()
		duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	})
}

// routeOf is a matched pattern without its method, or "none" when no
// pattern matched (the mux answered 405, or redirected).
func routeOf(pattern string) string {
	if pattern == "" {
		return "none"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

func methodOf(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
