package sign_test

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/packhouse/packhouse/internal/sign"
)

var algorithms = []sign.Algorithm{sign.RSA3072, sign.RSA4096, sign.Ed25519}

// An hour back, so that the real tools, which read the clock, never see a
// key from the future.
var keyCreated = time.Unix(time.Now().Add(-time.Hour).Unix(), 0)

const (
	keyName  = "Packhouse Test"
	keyEmail = "repo@example.com"
)

var generated = func() map[sign.Algorithm]func() (*sign.Key, error) {
	m := make(map[sign.Algorithm]func() (*sign.Key, error))
	for _, a := range algorithms {
		m[a] = sync.OnceValues(func() (*sign.Key, error) {
			return sign.Generate(keyName, keyEmail, a, keyCreated)
		})
	}
	return m
}()

// testKey generates each algorithm's key once: RSA keys take a while.
func testKey(t testing.TB, a sign.Algorithm) *sign.Key {
	t.Helper()
	k, err := generated[a]()
	if err != nil {
		t.Fatalf("Generate(%s): %v", a, err)
	}
	return k
}

func keyring(t testing.TB, k *sign.Key) openpgp.EntityList {
	t.Helper()
	pub, err := k.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		t.Fatalf("reading the public key: %v", err)
	}
	return el
}

// release is a Release file of about size bytes, for the benchmark and as
// the message most like what ClearSign signs in production.
func release(size int) string {
	var b strings.Builder
	b.WriteString("Origin: packhouse\nLabel: server\nSuite: stable\nCodename: stable\n")
	b.WriteString("Date: Sat, 21 Nov 2026 10:00:00 UTC\nValid-Until: Sat, 28 Nov 2026 10:00:00 UTC\n")
	b.WriteString("Architectures: amd64 arm64\nComponents: main\nAcquire-By-Hash: yes\nSHA256:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, " %064x %8d main/binary-amd64/Packages%d.xz\n", i*7919, 1000+i*31, i)
	}
	return b.String()
}

// messages must all come back from ClearSign byte for byte.
var messages = []struct{ name, text string }{
	{"empty", ""},
	{"only a newline", "\n"},
	{"no final newline", "Origin: packhouse"},
	{"final newline", "Origin: packhouse\n"},
	{"final empty line", "a\n\n"},
	{"empty lines inside", "a\n\n\nb\n"},
	{"leading empty line", "\nSuite: stable\n"},
	{"dashes", "-\n--\n- x\n-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----\n"},
	{"armor header look-alike", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA1\n\nx\n"},
	{"From line", "From here\n"},
	{"UTF-8", "Description: Größe ✓\n"},
	{"inner white space", "a  b\t c\n"},
	{"leading white space", " Files:\n 0123 12 main/Packages\n\tx\n"},
	{"longest line", strings.Repeat("x", 19993) + "\n"},
	{"release", release(4096)},
}

func TestGenerate(t *testing.T) {
	wantAlgo := map[sign.Algorithm]packet.PublicKeyAlgorithm{
		sign.RSA3072: packet.PubKeyAlgoRSA,
		sign.RSA4096: packet.PubKeyAlgoRSA,
		sign.Ed25519: packet.PubKeyAlgoEdDSA,
	}
	wantBits := map[sign.Algorithm]uint16{sign.RSA3072: 3072, sign.RSA4096: 4096}
	for _, a := range algorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := testKey(t, a)
			if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(k.Fingerprint()) {
				t.Errorf("Fingerprint() = %q, want 40 upper-case hex digits", k.Fingerprint())
			}
			pub, err := k.ArmoredPublic()
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := k.ArmoredPublic(); !bytes.Equal(pub, again) {
				t.Error("ArmoredPublic differs between calls")
			}
			if !regexp.MustCompile(`\n=[A-Za-z0-9+/]{4}\n-----END PGP PUBLIC KEY BLOCK-----\n$`).Match(pub) {
				t.Errorf("armored public key has no CRC line, which rpm requires:\n%s", pub)
			}
			el := keyring(t, k)
			if len(el) != 1 {
				t.Fatalf("public key holds %d keys", len(el))
			}
			e := el[0]
			if e.PrivateKey != nil {
				t.Error("ArmoredPublic holds private key material")
			}
			if len(e.Subkeys) != 0 {
				t.Errorf("key has %d subkeys, want only the primary key", len(e.Subkeys))
			}
			pk := e.PrimaryKey
			if pk.Version != 4 || pk.PubKeyAlgo != wantAlgo[a] || !pk.CreationTime.Equal(keyCreated) {
				t.Errorf("primary key: version %d, algorithm %d, created %v; want 4, %d, %v",
					pk.Version, pk.PubKeyAlgo, pk.CreationTime, wantAlgo[a], keyCreated)
			}
			if bits, err := pk.BitLength(); wantBits[a] != 0 && (err != nil || bits != wantBits[a]) {
				t.Errorf("key has %d bits (%v), want %d", bits, err, wantBits[a])
			}
			id, ok := e.Identities[keyName+" <"+keyEmail+">"]
			if !ok || len(e.Identities) != 1 {
				t.Fatalf("identities %v, want only %q", e.Identities, keyName+" <"+keyEmail+">")
			}
			self := id.SelfSignature
			if !self.FlagsValid || !self.FlagSign || !self.FlagCertify || self.FlagEncryptCommunications || self.FlagEncryptStorage {
				t.Errorf("self-signature flags: valid %v sign %v certify %v encrypt %v/%v; want sign and certify only",
					self.FlagsValid, self.FlagSign, self.FlagCertify, self.FlagEncryptCommunications, self.FlagEncryptStorage)
			}
			if self.KeyLifetimeSecs != nil && *self.KeyLifetimeSecs != 0 {
				t.Errorf("key expires after %ds, want never", *self.KeyLifetimeSecs)
			}
			if self.Hash != crypto.SHA512 {
				t.Errorf("self-signature hash %v, want SHA-512", self.Hash)
			}
			if _, ok := e.SigningKey(keyCreated.AddDate(30, 0, 0)); !ok {
				t.Error("key cannot sign in thirty years")
			}
		})
	}
}

func TestGenerateRejects(t *testing.T) {
	if _, err := sign.Generate(keyName, keyEmail, "dsa1024", keyCreated); err == nil {
		t.Error("Generate with an unknown algorithm succeeded")
	}
	if _, err := sign.Generate("Bad <Name>", keyEmail, sign.Ed25519, keyCreated); err == nil {
		t.Error("Generate with angle brackets in the name succeeded")
	}
	if _, err := sign.Generate("", keyEmail, sign.Ed25519, keyCreated); err == nil {
		t.Error("Generate without a name succeeded")
	}
	if _, err := sign.Generate(keyName, keyEmail, sign.Ed25519, time.Time{}); err == nil {
		t.Error("Generate at the zero time succeeded")
	}
}

func TestGenerateDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("RSA key generation")
	}
	k, err := sign.Generate(keyName, keyEmail, "", keyCreated)
	if err != nil {
		t.Fatal(err)
	}
	pk := keyring(t, k)[0].PrimaryKey
	if bits, _ := pk.BitLength(); pk.PubKeyAlgo != packet.PubKeyAlgoRSA || bits != 3072 {
		t.Errorf("default key is algorithm %d with %d bits, want RSA with 3072", pk.PubKeyAlgo, bits)
	}
}

func TestLoadRoundTrip(t *testing.T) {
	for _, a := range algorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := testKey(t, a)
			priv, err := k.ArmoredPrivate()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(priv, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n")) {
				t.Errorf("ArmoredPrivate starts %q", priv[:min(len(priv), 40)])
			}
			loaded, err := sign.Load(priv)
			if err != nil {
				t.Fatalf("Load(ArmoredPrivate()): %v", err)
			}
			if loaded.Fingerprint() != k.Fingerprint() {
				t.Errorf("loaded fingerprint %s, want %s", loaded.Fingerprint(), k.Fingerprint())
			}
			pub, _ := k.ArmoredPublic()
			if lpub, _ := loaded.ArmoredPublic(); !bytes.Equal(lpub, pub) {
				t.Error("loaded key exports a different public key")
			}
			if lpriv, _ := loaded.ArmoredPrivate(); !bytes.Equal(lpriv, priv) {
				t.Error("loaded key exports a different private key")
			}
			msg := []byte(release(500))
			sig, err := loaded.DetachSign(msg, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := openpgp.CheckArmoredDetachedSignature(keyring(t, k), bytes.NewReader(msg), bytes.NewReader(sig), nil); err != nil {
				t.Errorf("signature by the loaded key does not verify with the original public key: %v", err)
			}
		})
	}
}

func armoredPrivate(t *testing.T, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes()
}

func TestLoadRejects(t *testing.T) {
	k := testKey(t, sign.Ed25519)
	pub, _ := k.ArmoredPublic()
	priv, _ := k.ArmoredPrivate()
	other := testKey(t, sign.RSA3072)
	otherPriv, _ := other.ArmoredPrivate()

	newEntity := func(cfg *packet.Config) *openpgp.Entity {
		e, err := openpgp.NewEntity("Other", "", "other@example.com", cfg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	ed := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}

	encrypted := newEntity(ed)
	if err := encrypted.EncryptPrivateKeys([]byte("secret"), nil); err != nil {
		t.Fatal(err)
	}

	// Only the encryption subkey stays able to do anything.
	noSign := newEntity(ed)
	for _, id := range noSign.Identities {
		id.SelfSignature.FlagSign = false
		id.SelfSignature.FlagCertify = true
	}
	var noSignKey bytes.Buffer
	w, _ := armor.Encode(&noSignKey, openpgp.PrivateKeyType, nil)
	if err := noSign.SerializePrivate(w, ed); err != nil {
		t.Fatal(err)
	}
	w.Close()

	weak := newEntity(&packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 1024})

	expired := newEntity(&packet.Config{
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Time:            func() time.Time { return time.Now().Add(-48 * time.Hour) },
		KeyLifetimeSecs: 3600,
	})

	tests := []struct {
		name string
		key  []byte
	}{
		{"not a key", []byte("hello")},
		{"empty", nil},
		{"public key", pub},
		{"two armored keys", append(append([]byte{}, priv...), otherPriv...)},
		{"two keys in one block", oneBlock(t, priv, otherPriv)},
		{"passphrase", armoredPrivate(t, encrypted)},
		{"no signing flag", noSignKey.Bytes()},
		{"RSA 1024", armoredPrivate(t, weak)},
		{"expired", armoredPrivate(t, expired)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := sign.Load(tt.key); err == nil {
				t.Errorf("Load succeeded with key %s", k.Fingerprint())
			} else {
				t.Log(err)
			}
		})
	}
}

// oneBlock joins armored keys into one armored block.
func oneBlock(t *testing.T, keys ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		block, err := armor.Decode(bytes.NewReader(k))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, block.Body); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return b.Bytes()
}

// aptSplit splits a clear-signed file as apt 2.x does before it hands the
// two halves to gpgv (apt-pkg/contrib/gpgv.cc, SplitClearSignedFile): apt
// parses the content it extracts, not what gpg would print.
func aptSplit(in []byte) (content, signature []byte, err error) {
	lines := strings.SplitAfter(string(in), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	next := func() (string, bool) {
		if len(lines) == 0 {
			return "", false
		}
		l := strings.TrimRight(lines[0], "\n\r")
		lines = lines[1:]
		return strings.TrimRight(l, " \t"), true
	}
	if l, _ := next(); l != "-----BEGIN PGP SIGNED MESSAGE-----" {
		return nil, nil, fmt.Errorf("first line %q", l)
	}
	for {
		l, ok := next()
		if !ok {
			return nil, nil, fmt.Errorf("no end of the armor headers")
		}
		if l == "" {
			break
		}
		if strings.HasPrefix(l, "-") {
			return nil, nil, fmt.Errorf("armor header %q starts with a dash", l)
		}
	}
	var c, s bytes.Buffer
	first := true
	for {
		l, ok := next()
		if !ok {
			return nil, nil, fmt.Errorf("no signature")
		}
		if l == "-----BEGIN PGP SIGNATURE-----" {
			s.WriteString(l + "\n")
			break
		}
		if !first {
			c.WriteByte('\n')
		}
		switch {
		case strings.HasPrefix(l, "- "):
			c.WriteString(l[2:])
		case strings.HasPrefix(l, "-"):
			return nil, nil, fmt.Errorf("message line %q starts with an unescaped dash", l)
		default:
			c.WriteString(l)
		}
		first = false
	}
	open := true
	for {
		l, ok := next()
		if !ok {
			break
		}
		switch {
		case open && l == "-----END PGP SIGNATURE-----":
			open = false
		case open && strings.HasPrefix(l, "-"):
			return nil, nil, fmt.Errorf("signature line %q starts with a dash", l)
		case !open && l == "-----BEGIN PGP SIGNATURE-----":
			open = true
		case !open:
			return nil, nil, fmt.Errorf("unsigned line %q after the signature", l)
		}
		s.WriteString(l + "\n")
	}
	if open {
		return nil, nil, fmt.Errorf("signature not closed")
	}
	return c.Bytes(), s.Bytes(), nil
}

func TestClearSign(t *testing.T) {
	now := time.Now()
	for _, a := range algorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := testKey(t, a)
			ring := keyring(t, k)
			for _, m := range messages {
				out, err := k.ClearSign([]byte(m.text), now)
				if err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				if !bytes.HasPrefix(out, []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n")) {
					t.Errorf("%s: output starts %q", m.name, out[:min(len(out), 60)])
				}
				if !bytes.HasSuffix(out, []byte("\n-----END PGP SIGNATURE-----\n")) || bytes.HasSuffix(out, []byte("\n\n")) {
					t.Errorf("%s: output does not end in exactly one newline after the signature", m.name)
				}

				b, rest := clearsign.Decode(out)
				if b == nil || len(rest) != 0 {
					t.Fatalf("%s: clearsign.Decode found no message (%d bytes left)", m.name, len(rest))
				}
				if string(b.Plaintext) != m.text {
					t.Errorf("%s: decoded text %q, want %q", m.name, b.Plaintext, m.text)
				}
				signer, err := b.VerifySignature(ring, nil)
				if err != nil || signer == nil {
					t.Errorf("%s: signature does not verify: %v", m.name, err)
				}
				b, _ = clearsign.Decode(out) // VerifySignature consumed the signature
				sig := readSignature(t, b.ArmoredSignature.Body)
				if sig.SigType != packet.SigTypeText || sig.Hash != crypto.SHA512 || !sig.CreationTime.Equal(time.Unix(now.Unix(), 0)) {
					t.Errorf("%s: signature type %d, hash %v, created %v", m.name, sig.SigType, sig.Hash, sig.CreationTime)
				}

				content, _, err := aptSplit(out)
				if err != nil {
					t.Errorf("%s: apt would reject it: %v", m.name, err)
				} else if string(content) != m.text {
					t.Errorf("%s: apt reads %q, want %q", m.name, content, m.text)
				}
			}

			out, err := k.ClearSign([]byte("Suite: stable\n"), now)
			if err != nil {
				t.Fatal(err)
			}
			tampered := bytes.Replace(out, []byte("Suite: stable"), []byte("Suite: stablE"), 1)
			if b, _ := clearsign.Decode(tampered); b == nil {
				t.Fatal("tampered message does not decode")
			} else if _, err := b.VerifySignature(ring, nil); err == nil {
				t.Error("tampered message verifies")
			}
		})
	}
}

func readSignature(t *testing.T, r interface{ Read([]byte) (int, error) }) *packet.Signature {
	t.Helper()
	p, err := packet.Read(r)
	if err != nil {
		t.Fatalf("reading the signature packet: %v", err)
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		t.Fatalf("signature is a %T", p)
	}
	return sig
}

func TestClearSignRejects(t *testing.T) {
	k := testKey(t, sign.Ed25519)
	for _, msg := range []string{
		"trailing space \n",
		"trailing tab\t\n",
		"last line trailing space ",
		"a\r\nb\r\n",
		"bare\rreturn\n",
		strings.Repeat("x", 19994) + "\n",
	} {
		if _, err := k.ClearSign([]byte(msg), time.Now()); err == nil {
			t.Errorf("ClearSign(%.30q) succeeded", msg)
		}
	}
}

func TestDetachSign(t *testing.T) {
	now := time.Now()
	for _, a := range algorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := testKey(t, a)
			ring := keyring(t, k)
			for _, msg := range [][]byte{nil, []byte("no newline"), []byte(release(3000)), {0, 1, 2, '\r', '\n', 0xff}} {
				armored, err := k.DetachSign(msg, now)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(armored, []byte("-----BEGIN PGP SIGNATURE-----\n")) ||
					!regexp.MustCompile(`\n=[A-Za-z0-9+/]{4}\n-----END PGP SIGNATURE-----\n$`).Match(armored) {
					t.Errorf("armored signature is not one armored block with a CRC:\n%s", armored)
				}
				if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(msg), bytes.NewReader(armored), nil); err != nil {
					t.Errorf("armored signature of %d bytes does not verify: %v", len(msg), err)
				}
				binary, err := k.DetachSignBinary(msg, now)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(msg), bytes.NewReader(binary), nil); err != nil {
					t.Errorf("binary signature of %d bytes does not verify: %v", len(msg), err)
				}
				sig := readSignature(t, bytes.NewReader(binary))
				if sig.SigType != packet.SigTypeBinary || sig.Hash != crypto.SHA512 || !sig.CreationTime.Equal(time.Unix(now.Unix(), 0)) {
					t.Errorf("signature type %d, hash %v, created %v", sig.SigType, sig.Hash, sig.CreationTime)
				}
				if sig.IssuerKeyId == nil || fmt.Sprintf("%016X", *sig.IssuerKeyId) != k.Fingerprint()[24:] {
					t.Errorf("signature names issuer %v, want the key's ID", sig.IssuerKeyId)
				}
				changed := append(append([]byte{}, msg...), 'x')
				if _, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(changed), bytes.NewReader(binary), nil); err == nil {
					t.Error("signature verifies a changed message")
				}
			}
		})
	}
}

func TestSignOutsideKeyLifetime(t *testing.T) {
	k := testKey(t, sign.Ed25519)
	before := keyCreated.Add(-time.Minute)
	if _, err := k.ClearSign([]byte("x\n"), before); err == nil {
		t.Error("ClearSign before the key was created succeeded")
	}
	if _, err := k.DetachSign([]byte("x\n"), before); err == nil {
		t.Error("DetachSign before the key was created succeeded")
	}
}

func TestConcurrentSigning(t *testing.T) {
	for _, a := range algorithms {
		k := testKey(t, a)
		ring := keyring(t, k)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				msg := []byte(fmt.Sprintf("Version: %d\n", i))
				out, err := k.ClearSign(msg, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := clearsign.Decode(out)
				if b == nil {
					t.Error("no clear-signed message")
					return
				}
				if _, err := b.VerifySignature(ring, nil); err != nil {
					t.Errorf("%s: %v", a, err)
				}
			})
		}
		wg.Wait()
	}
}

func BenchmarkClearSign(b *testing.B) {
	msg := []byte(release(2048))
	for _, a := range algorithms {
		b.Run(string(a), func(b *testing.B) {
			k := testKey(b, a)
			now := time.Now()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := k.ClearSign(msg, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
