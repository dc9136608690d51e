package sign

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

var rsaKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for _, bits := range []int{2048, 3072} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
})

func testRSAKeys(t *testing.T) []*rsa.PrivateKey {
	t.Helper()
	keys, err := rsaKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// swapped is priv with its primes the other way round, as a key file may
// hold them.
func swapped(t *testing.T, priv *rsa.PrivateKey) *rsa.PrivateKey {
	t.Helper()
	s := &rsa.PrivateKey{PublicKey: priv.PublicKey, D: priv.D, Primes: []*big.Int{priv.Primes[1], priv.Primes[0]}}
	s.Precompute()
	return s
}

// PKCS #1 v1.5 signatures are deterministic: every signature must be
// crypto/rsa's, byte for byte, whichever way round the primes are.
func TestRSASignerIsCryptoRSA(t *testing.T) {
	hashes := []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512,
		crypto.SHA224} // the last has no digestInfo here: crypto/rsa signs it
	for _, priv := range testRSAKeys(t) {
		for _, key := range []*rsa.PrivateKey{priv, swapped(t, priv)} {
			s, err := newRSASigner(key)
			if err != nil {
				t.Fatal(err)
			}
			if s.Public().(*rsa.PublicKey).N.Cmp(priv.N) != 0 {
				t.Fatal("Public is not the key's")
			}
			for _, h := range hashes {
				for i := range 8 {
					digest := make([]byte, h.Size())
					switch i {
					case 0: // all zero
					case 1:
						for j := range digest {
							digest[j] = 0xff
						}
					default:
						rand.Read(digest)
					}
					want, err := rsa.SignPKCS1v15(nil, priv, h, digest)
					if err != nil {
						t.Fatal(err)
					}
					got, err := s.Sign(nil, digest, h)
					if err != nil {
						t.Fatalf("%d bits, %v: %v", priv.N.BitLen(), h, err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%d bits, %v: signature differs from crypto/rsa's", priv.N.BitLen(), h)
					}
				}
			}
		}
	}
}

func TestRSASignerPSS(t *testing.T) {
	priv := testRSAKeys(t)[0]
	s, err := newRSASigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	digest := make([]byte, 32)
	opts := &rsa.PSSOptions{Hash: crypto.SHA256}
	sig, err := s.Sign(rand.Reader, digest, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPSS(&priv.PublicKey, crypto.SHA256, digest, sig, opts); err != nil {
		t.Fatal(err)
	}
}

func TestRSASignerRejects(t *testing.T) {
	priv := testRSAKeys(t)[0]
	s, err := newRSASigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(nil, make([]byte, 31), crypto.SHA256); err == nil {
		t.Error("signed a digest of the wrong length")
	}

	bad := *priv
	bad.D = new(big.Int).Add(priv.D, big.NewInt(2))
	if _, err := newRSASigner(&bad); err == nil {
		t.Error("took a key whose private exponent does not match")
	}
	three := *priv
	three.Primes = append(priv.Primes[:2:2], big.NewInt(3))
	if _, err := newRSASigner(&three); err == nil {
		t.Error("took a key of three primes")
	}
}

// A wrong result, from a fault or a bug, is never returned: it would give
// away a prime of the key.
func TestRSASignerChecksItsResult(t *testing.T) {
	priv := testRSAKeys(t)[0]
	s, err := newRSASigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	s.dQ = bytes.Clone(s.dQ)
	s.dQ[len(s.dQ)-1] ^= 2
	if sig, err := s.Sign(nil, make([]byte, 32), crypto.SHA256); err == nil {
		t.Fatalf("returned a wrong signature %x", sig[:8])
	}
}

func TestRSASignerConcurrent(t *testing.T) {
	priv := testRSAKeys(t)[0]
	s, err := newRSASigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			digest := bytes.Repeat([]byte{byte(i)}, 64)
			want, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA512, digest)
			got, err := s.Sign(nil, digest, crypto.SHA512)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("signature %d: %v, or differs from crypto/rsa's", i, err)
			}
		})
	}
	wg.Wait()
}

// A Key makes its OpenPGP signatures with rsaSigner, and they verify.
func TestKeySignsWithRSASigner(t *testing.T) {
	k, err := Generate("Packhouse Test", "repo@example.com", RSA3072, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.rsa) != 1 {
		t.Fatalf("%d RSA signers, want 1", len(k.rsa))
	}
	var calls atomic.Int32
	for _, fast := range k.rsa {
		fast.PrivateKey = countingSigner{fast.PrivateKey.(*rsaSigner), &calls}
	}
	ring := openpgp.EntityList{k.entity}
	msg := []byte("Origin: test\n")
	sig, err := k.DetachSignBinary(msg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("rsaSigner signed %d times, want 1", calls.Load())
	}
	if _, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(msg), bytes.NewReader(sig), nil); err != nil {
		t.Fatal(err)
	}
	signer, ok := k.RSA()
	if !ok {
		t.Fatal("RSA: not an RSA key")
	}
	if _, ok := signer.(countingSigner); !ok {
		t.Errorf("RSA gives a %T", signer)
	}
}

type countingSigner struct {
	*rsaSigner
	n *atomic.Int32
}

func (c countingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.n.Add(1)
	return c.rsaSigner.Sign(rand, digest, opts)
}
