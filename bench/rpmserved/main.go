// Command rpmserved fetches a dnf repository's signed metadata as dnf
// makecache does, and checks it: repomd.xml, its detached signature
// (verified with the given key), and every file it names (checksum and
// size). The benchmarks use it to see that a push's repodata is served;
// it replaces two curl processes and a grep, which here cost more than
// the server's own work, and checks more than they did.
//
//	rpmserved -key KEY.asc [-contains TEXT] BASEURL
//	rpmserved -key KEY.asc -each BASEURL
//
// With -contains, the uncompressed primary.xml must contain TEXT. With
// -each, it reads lines from its input and, for each, fetches and checks
// the metadata (the line, if not empty, is what primary.xml must
// contain), then prints "ok" or why not: a client already running, whose
// own start is not part of what is timed. Each round opens new
// connections, as a new dnf process would.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
)

type repomd struct {
	Data []struct {
		Type     string `xml:"type,attr"`
		Checksum string `xml:"checksum"`
		Size     int64  `xml:"size"`
		Location struct {
			Href string `xml:"href,attr"`
		} `xml:"location"`
	} `xml:"data"`
}

func main() {
	keyFile := flag.String("key", "", "armored OpenPGP public key that signs repomd.xml")
	contains := flag.String("contains", "", "text primary.xml must contain")
	each := flag.Bool("each", false, "fetch and check once per line of input")
	flag.Parse()
	if *keyFile == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: rpmserved -key KEY.asc [-contains TEXT | -each] BASEURL")
		os.Exit(2)
	}
	ring, err := readKey(*keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rpmserved:", err)
		os.Exit(1)
	}
	base := strings.TrimSuffix(flag.Arg(0), "/")
	if !*each {
		if err := check(ring, base, *contains); err != nil {
			fmt.Fprintln(os.Stderr, "rpmserved:", err)
			os.Exit(1)
		}
		return
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if err := check(ring, base, in.Text()); err != nil {
			fmt.Println("error:", err)
		} else {
			fmt.Println("ok")
		}
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	}
}

func readKey(keyFile string) (openpgp.EntityList, error) {
	key, err := os.Open(keyFile)
	if err != nil {
		return nil, err
	}
	defer key.Close()
	ring, err := openpgp.ReadArmoredKeyRing(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return ring, nil
}

func check(ring openpgp.EntityList, base, contains string) error {
	md, err := get(base + "/repodata/repomd.xml")
	if err != nil {
		return err
	}
	var doc repomd
	if err := xml.Unmarshal(md, &doc); err != nil {
		return fmt.Errorf("repomd.xml: %w", err)
	}
	if len(doc.Data) == 0 {
		return fmt.Errorf("repomd.xml names no files")
	}
	// The signature and the files it names are fetched at once, as dnf's
	// downloader does.
	paths := []string{"repodata/repomd.xml.asc"}
	for _, d := range doc.Data {
		paths = append(paths, d.Location.Href)
	}
	bodies := make([][]byte, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() { bodies[i], errs[i] = get(base + "/" + p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(md), bytes.NewReader(bodies[0]), nil); err != nil {
		return fmt.Errorf("repomd.xml: signature: %w", err)
	}
	found := contains == ""
	for i, d := range doc.Data {
		body := bodies[i+1]
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != d.Checksum || int64(len(body)) != d.Size {
			return fmt.Errorf("%s: %d bytes with SHA-256 %s, repomd.xml says %d and %s", d.Location.Href, len(body), got, d.Size, d.Checksum)
		}
		if d.Type == "primary" && !found {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("%s: %w", d.Location.Href, err)
			}
			text, err := io.ReadAll(zr)
			if err != nil {
				return fmt.Errorf("%s: %w", d.Location.Href, err)
			}
			found = bytes.Contains(text, []byte(contains))
		}
	}
	if !found {
		return fmt.Errorf("primary.xml does not contain %q", contains)
	}
	return nil
}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return body, nil
}
