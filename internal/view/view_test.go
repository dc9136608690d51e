package view

import (
	"fmt"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/meta"
)

func e(name, version, arch string) meta.Entry {
	return meta.Entry{Format: meta.FormatDeb, Name: name, Version: version, Arch: arch, SHA256: name + version + arch}
}

func rpmEntry(name, version, arch string) meta.Entry {
	x := e(name, version, arch)
	x.Format, x.SHA256 = meta.FormatRPM, "rpm"+x.SHA256
	return x
}

func names(es []meta.Entry) string {
	return viewNames(View{es})
}

func viewNames(v View) string {
	var s []string
	for e := range v.All() {
		prefix := ""
		if e.Format != meta.FormatDeb {
			prefix = e.Format + ":"
		}
		s = append(s, prefix+e.Name+"="+e.Version+"/"+e.Arch)
	}
	return strings.Join(s, " ")
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name   string
		layers []Layer
		want   string
	}{
		{"empty", nil, ""},
		{"default only", []Layer{{Default: NewSet([]meta.Entry{e("b", "1", "amd64"), e("a", "1", "all")})}}, "a=1/all b=1/amd64"},
		{
			"branch replaces same name and arch, all versions",
			[]Layer{{
				Default: NewSet([]meta.Entry{e("srv", "1", "amd64"), e("srv", "2", "amd64"), e("srv", "1", "arm64"), e("web", "1", "all")}),
				Overlay: NewSet([]meta.Entry{e("srv", "0.9", "amd64")}),
			}},
			"srv=0.9/amd64 srv=1/arm64 web=1/all",
		},
		{
			"other projects show their default branch",
			[]Layer{
				{Default: NewSet([]meta.Entry{e("lib", "1", "amd64")})},
				{Default: NewSet([]meta.Entry{e("srv", "1", "amd64")}), Overlay: NewSet([]meta.Entry{e("srv", "2", "amd64")})},
			},
			"lib=1/amd64 srv=2/amd64",
		},
		{
			"an overlay hides only its own project's packages",
			[]Layer{
				{Default: NewSet([]meta.Entry{e("tool", "1", "amd64")})},
				{Overlay: NewSet([]meta.Entry{e("tool", "2", "amd64")})},
			},
			"tool=1/amd64 tool=2/amd64",
		},
		{
			"a branch's package hides only packages of its own format",
			[]Layer{{
				Default: NewSet([]meta.Entry{e("srv", "1", "x86_64"), rpmEntry("srv", "1", "x86_64"), rpmEntry("srv", "1", "aarch64")}),
				Overlay: NewSet([]meta.Entry{rpmEntry("srv", "2", "x86_64")}),
			}},
			"srv=1/x86_64 rpm:srv=1/aarch64 rpm:srv=2/x86_64",
		},
		{
			"the same package in two projects is listed once",
			[]Layer{{Default: NewSet([]meta.Entry{e("x", "1", "all")})}, {Default: NewSet([]meta.Entry{e("x", "1", "all")})}},
			"x=1/all",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := viewNames(Resolve(tt.layers)); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	s := NewSet([]meta.Entry{e("a", "1", "all"), e("c", "1", "all")})
	s2 := s.Apply([]meta.LogEntry{
		{Added: true, Entry: e("b", "1", "all")},
		{Added: false, Entry: e("a", "1", "all")},
		{Added: true, Entry: e("d", "1", "all")},
		{Added: false, Entry: e("d", "1", "all")},
	})
	if got := names(s2.Entries()); got != "b=1/all c=1/all" {
		t.Fatalf("after Apply: %s", got)
	}
	if got := names(s.Entries()); got != "a=1/all c=1/all" {
		t.Fatalf("Apply changed the original set: %s", got)
	}
}

func BenchmarkResolve100k(b *testing.B) {
	var def []meta.Entry
	for i := range 100000 {
		def = append(def, e(fmt.Sprintf("pkg-%06d", i), "1.0-1", "amd64"))
	}
	layers := []Layer{{Default: NewSet(def), Overlay: NewSet([]meta.Entry{e("pkg-000100", "2", "amd64")})}, {Default: NewSet([]meta.Entry{e("lib", "1", "all")})}}
	b.ResetTimer()
	for b.Loop() {
		Resolve(layers)
	}
}

// BenchmarkApply100k is one push's change to a branch of 100,000 packages.
func BenchmarkApply100k(b *testing.B) {
	var def []meta.Entry
	for i := range 100000 {
		def = append(def, e(fmt.Sprintf("pkg-%06d", i), "1.0-1", "amd64"))
	}
	s := NewSet(def)
	log := []meta.LogEntry{{Added: true, Entry: e("pkg-050000", "2.0-1", "amd64")}}
	for b.Loop() {
		s.Apply(log)
	}
}
