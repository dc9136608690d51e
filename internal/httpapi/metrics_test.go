package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/packhouse/packhouse/internal/httpapi"
	"github.com/packhouse/packhouse/internal/service"
)

// Requests are counted by the route they matched, never by what the
// client sent: a hundred made-up paths and methods add one series each
// for "no route", not a hundred.
func TestMetricsLabelsAreBounded(t *testing.T) {
	e := newEnv(t, service.Config{})
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(httpapi.New(e.svc, httpapi.Options{Registry: reg}))
	defer srv.Close()
	do := func(method, path string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	do("GET", "/healthz")
	do("GET", "/apt/product/dists/main/InRelease")
	for i := range 100 {
		do("GET", fmt.Sprintf("/made-up-%d/x", i))
		do(fmt.Sprintf("M%d", i), "/healthz")
		do("GET", fmt.Sprintf("/api/v1/made-up-%d", i))
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var routes, methods []string
	series := 0
	for _, f := range families {
		if f.GetName() != "packhouse_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			series++
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "route":
					if !slices.Contains(routes, l.GetValue()) {
						routes = append(routes, l.GetValue())
					}
				case "method":
					if !slices.Contains(methods, l.GetValue()) {
						methods = append(methods, l.GetValue())
					}
				}
			}
		}
	}
	slices.Sort(routes)
	slices.Sort(methods)
	if want := []string{"/", "/apt/{repo}/dists/{path...}", "/healthz"}; !slices.Equal(routes, want) {
		t.Errorf("routes %q, want %q", routes, want)
	}
	if want := []string{"GET", "other"}; !slices.Equal(methods, want) {
		t.Errorf("methods %q, want %q", methods, want)
	}
	if series > 10 {
		t.Errorf("%d series after 302 requests", series)
	}
}
