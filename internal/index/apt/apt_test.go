package apt

import (
	"testing"
	"time"
)

func TestAppendStanza(t *testing.T) {
	p := &Package{
		Control:  "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: greets\n a longer text",
		Filename: "pool/ab/abc/hello_1.0-1_amd64.deb", Size: 1234, MD5: "m", SHA1: "s1", SHA256: "s256",
	}
	want := "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: greets\n a longer text\n" +
		"Filename: pool/ab/abc/hello_1.0-1_amd64.deb\nSize: 1234\nMD5sum: m\nSHA1: s1\nSHA256: s256\n\n"
	if got := string(AppendStanza(nil, p)); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestPoolPath(t *testing.T) {
	sha := "abcdef0000000000000000000000000000000000000000000000000000000000"
	if got, want := PoolPath("hello", "1:2.0-1", "all", sha), "pool/ab/"+sha+"/hello_2.0-1_all.deb"; got != want {
		t.Fatalf("PoolPath = %q, want %q", got, want)
	}
}

func TestRelease(t *testing.T) {
	date := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	r := Release{
		Origin: "packhouse", Label: "product", Suite: "feature/x", Codename: "feature/x",
		Date: date, ValidUntil: date.Add(7 * 24 * time.Hour),
		Architectures: []string{"amd64"}, Components: []string{"main"},
		Files: []File{
			{Path: "main/binary-amd64/Packages.gz", Size: 20, SHA256: "bb"},
			{Path: "main/binary-amd64/Packages", Size: 1000, SHA256: "aa"},
		},
	}
	want := `Origin: packhouse
Label: product
Suite: feature/x
Codename: feature/x
Date: Sat, 21 Nov 2026 10:00:00 UTC
Valid-Until: Sat, 28 Nov 2026 10:00:00 UTC
Architectures: amd64
Components: main
Acquire-By-Hash: yes
SHA256:
 aa 1000 main/binary-amd64/Packages
 bb   20 main/binary-amd64/Packages.gz
`
	if got := string(r.Bytes()); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
