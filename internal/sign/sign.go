package sign

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Algorithm is the public-key algorithm of a generated key.
type Algorithm string

const (
	// RSA3072 is verified by every apt, rpm, dnf, yum and pacman in use,
	// RHEL 7 included.
	RSA3072 Algorithm = "rsa3072"
	RSA4096 Algorithm = "rsa4096"
	// Ed25519 signs fastest and has the smallest signatures, but GnuPG
	// before 2.1 cannot verify it: not for RHEL 7 or other old clients.
	Ed25519 Algorithm = "ed25519"

	// DefaultAlgorithm is used when none is given.
	DefaultAlgorithm = RSA3072
)

// signatureHash is verified by every client, back to RHEL 7's GnuPG 2.0;
// apt and rpm reject SHA-1. signatureHashName names it in a clear-signed
// message's header.
const (
	signatureHash     = crypto.SHA512
	signatureHashName = "SHA512"
)

// Key is an OpenPGP private key that signs repository metadata. It is safe
// for concurrent use.
type Key struct {
	entity *openpgp.Entity
	// rsa has, for each RSA private key of entity, a copy that signs
	// with rsaSigner.
	rsa map[*packet.PrivateKey]*packet.PrivateKey
}

// Generate makes a new signing key for name <email>, created at now. It
// does not expire, and holds only the primary key, flagged to sign and
// certify: a repository key has nothing to decrypt.
func Generate(name, email string, algo Algorithm, now time.Time) (*Key, error) {
	if name == "" {
		return nil, errors.New("sign: a key needs a name")
	}
	if now.Unix() <= 0 || now.Unix() > math.MaxUint32 {
		return nil, fmt.Errorf("sign: creation time %v does not fit in a key", now)
	}
	now = time.Unix(now.Unix(), 0) // what the key packet holds
	cfg := config(now)
	switch algo {
	case "", RSA3072:
		cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, 3072
	case RSA4096:
		cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, 4096
	case Ed25519:
		// The legacy EdDSA encoding (algorithm 22), which GnuPG 2.1 and
		// later verify; the newer one (27) needs GnuPG 2.4 or Sequoia.
		cfg.Algorithm, cfg.Curve = packet.PubKeyAlgoEdDSA, packet.Curve25519
	default:
		return nil, fmt.Errorf("sign: unknown key algorithm %q (want %s, %s or %s)", algo, RSA3072, RSA4096, Ed25519)
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("sign: generating key: %w", err)
	}
	e.Subkeys = nil // the encryption subkey NewEntity always adds
	return newKey(e, now)
}

// Load reads an armored, unencrypted private key, as ArmoredPrivate or
// `gpg --armor --export-secret-keys` writes it. The key (or one of its
// subkeys) must be able to sign now.
func Load(armoredPrivate []byte) (*Key, error) {
	// ReadArmoredKeyRing reads the first armored block and ignores the rest.
	if n := bytes.Count(armoredPrivate, []byte("-----BEGIN PGP ")); n > 1 {
		return nil, fmt.Errorf("sign: want one armored key, found %d armored blocks", n)
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armoredPrivate))
	if err != nil {
		return nil, fmt.Errorf("sign: reading key: %w", err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("sign: want one key, found %d", len(el))
	}
	e := el[0]
	if e.PrivateKey == nil {
		return nil, errors.New("sign: this is a public key; the private key is needed to sign")
	}
	return newKey(e, time.Now())
}

func newKey(e *openpgp.Entity, now time.Time) (*Key, error) {
	k := &Key{entity: e}
	sk, ok := e.SigningKey(now)
	if !ok {
		return nil, fmt.Errorf("sign: key %s has no key that can sign (none flagged for signing, or expired or revoked)", k.Fingerprint())
	}
	switch {
	case sk.PrivateKey == nil || sk.PrivateKey.Dummy():
		return nil, fmt.Errorf("sign: key %s holds no secret for its signing key %X", k.Fingerprint(), sk.PublicKey.KeyId)
	case sk.PrivateKey.Encrypted:
		return nil, fmt.Errorf("sign: key %s is protected by a passphrase; export it without one", k.Fingerprint())
	}
	switch sk.PublicKey.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly:
		// apt 2.7 and later refuse anything shorter by default.
		if bits, err := sk.PublicKey.BitLength(); err != nil || bits < 2048 {
			return nil, fmt.Errorf("sign: key %s is RSA with %d bits; at least 2048 are needed", k.Fingerprint(), bits)
		}
	case packet.PubKeyAlgoDSA:
		return nil, fmt.Errorf("sign: key %s is DSA, which current clients reject", k.Fingerprint())
	}
	k.rsa = map[*packet.PrivateKey]*packet.PrivateKey{}
	privs := []*packet.PrivateKey{e.PrivateKey}
	for _, sub := range e.Subkeys {
		privs = append(privs, sub.PrivateKey)
	}
	for _, priv := range privs {
		if priv == nil || priv.Encrypted {
			continue
		}
		r, ok := priv.PrivateKey.(*rsa.PrivateKey)
		if !ok {
			continue
		}
		signer, err := newRSASigner(r)
		if err != nil {
			return nil, fmt.Errorf("sign: key %s: %w", k.Fingerprint(), err)
		}
		fast := *priv
		fast.PrivateKey = signer
		k.rsa[priv] = &fast
	}
	return k, nil
}

func config(now time.Time) *packet.Config {
	return &packet.Config{
		DefaultHash: signatureHash,
		Time:        func() time.Time { return now },

		InsecureGenerateNonCriticalKeyFlags:              true,
		InsecureGenerateNonCriticalSignatureCreationTime: true,
	}
}

// Fingerprint is the primary key's fingerprint, as upper-case hex: what
// `gpg --fingerprint` shows without spaces and what apt, rpm and pacman-key
// name the key by.
func (k *Key) Fingerprint() string {
	return strings.ToUpper(hex.EncodeToString(k.entity.PrimaryKey.Fingerprint))
}

// RSA returns the signing key as a bare RSA signer, for formats that sign
// without OpenPGP (apk), and false when the key is not RSA. Its Public is
// an *rsa.PublicKey.
func (k *Key) RSA() (crypto.Signer, bool) {
	sk, ok := k.entity.SigningKey(time.Now())
	if !ok || sk.PrivateKey == nil {
		return nil, false
	}
	fast, ok := k.rsa[sk.PrivateKey]
	if !ok {
		return nil, false
	}
	return fast.PrivateKey.(crypto.Signer), true
}

// ArmoredPublic is the public key that clients import: the file that apt's
// Signed-By names, `rpm --import` and dnf's gpgkey read, and
// `pacman-key --add` takes.
func (k *Key) ArmoredPublic() ([]byte, error) {
	return k.armored(openpgp.PublicKeyType, false)
}

// ArmoredPrivate is the unencrypted private key, for Load. Whoever stores
// it must keep it private (mode 0600).
func (k *Key) ArmoredPrivate() ([]byte, error) {
	return k.armored(openpgp.PrivateKeyType, true)
}

func (k *Key) armored(blockType string, private bool) ([]byte, error) {
	var b bytes.Buffer
	err := writeArmored(&b, blockType, func(w io.Writer) error {
		return writeEntity(w, k.entity, private)
	})
	if err != nil {
		return nil, fmt.Errorf("sign: writing key: %w", err)
	}
	return b.Bytes(), nil
}

// writeArmored writes one armored block, with the CRC line that rpm needs
// and the final newline that the armor package leaves out: apt and rpm
// cope without it, but every tool that writes armor ends it with one.
func writeArmored(w io.Writer, blockType string, body func(io.Writer) error) error {
	aw, err := armor.Encode(w, blockType, nil)
	if err != nil {
		return err
	}
	if err := body(aw); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// writeEntity is Entity.Serialize and SerializePrivateWithoutSigning with
// the user IDs in a fixed order, so that the exported key is the same bytes
// every time and caches keep it.
func writeEntity(w io.Writer, e *openpgp.Entity, private bool) error {
	var err error
	write := func(p interface{ Serialize(io.Writer) error }) {
		if err == nil {
			err = p.Serialize(w)
		}
	}
	writeAll := func(sigs []*packet.Signature) {
		for _, s := range sigs {
			write(s)
		}
	}
	if private {
		write(e.PrivateKey)
	} else {
		write(e.PrimaryKey)
	}
	writeAll(e.Revocations)
	writeAll(e.Signatures)
	for _, name := range slices.Sorted(maps.Keys(e.Identities)) {
		id := e.Identities[name]
		write(id.UserId)
		writeAll(id.Signatures)
	}
	for _, sub := range e.Subkeys {
		if private && sub.PrivateKey != nil {
			write(sub.PrivateKey)
		} else {
			write(sub.PublicKey)
		}
		writeAll(sub.Revocations)
		write(sub.Sig)
	}
	return err
}

// ClearSign returns msg clear-signed, as apt's InRelease: the text readable
// between a header and a signature. apt and gpgv give back exactly msg,
// final newline included.
//
// Clear-signing ignores trailing spaces and tabs and treats CR LF as LF, so
// a message that has either could not come back unchanged: ClearSign
// refuses it rather than sign something other than msg.
func (k *Key) ClearSign(msg []byte, now time.Time) ([]byte, error) {
	if err := checkClearText(msg); err != nil {
		return nil, err
	}
	sig, err := k.sign(msg, packet.SigTypeText, now)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(msg) + 1024)
	b.WriteString("-----BEGIN PGP SIGNED MESSAGE-----\nHash: ")
	b.WriteString(signatureHashName)
	b.WriteString("\n\n")
	for line := range bytes.Lines(msg) {
		if line[0] == '-' {
			b.WriteString("- ")
		}
		b.Write(line)
	}
	// The line break before the signature is not part of the signed text,
	// so a message that ends in a newline needs one more: the signed text
	// then ends in an empty line, which apt turns back into that newline.
	b.WriteByte('\n')
	if err := writeArmored(&b, "PGP SIGNATURE", sig.Serialize); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxClearTextLine is the longest line that GnuPG handles in a text
// signature: gpg cuts longer lines when it clear-signs, and gpgv, which apt
// runs on the text it splits off InRelease, rejects them.
const maxClearTextLine = 19993

func checkClearText(msg []byte) error {
	n := 0
	for line := range bytes.Lines(msg) {
		n++
		line = bytes.TrimSuffix(line, []byte("\n"))
		if bytes.IndexByte(line, '\r') >= 0 {
			return fmt.Errorf("sign: line %d of the message has a carriage return, which clear-signing would not keep", n)
		}
		if len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
			return fmt.Errorf("sign: line %d of the message ends in white space, which clear-signing would drop", n)
		}
		if len(line) > maxClearTextLine {
			return fmt.Errorf("sign: line %d of the message is %d bytes long; gpgv accepts at most %d", n, len(line), maxClearTextLine)
		}
	}
	return nil
}

// DetachSign returns an armored signature of msg, as apt's Release.gpg and
// dnf's repomd.xml.asc.
func (k *Key) DetachSign(msg []byte, now time.Time) ([]byte, error) {
	sig, err := k.sign(msg, packet.SigTypeBinary, now)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeArmored(&b, "PGP SIGNATURE", sig.Serialize); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DetachSignBinary returns an unarmored signature of msg, as pacman's .sig
// files.
func (k *Key) DetachSignBinary(msg []byte, now time.Time) ([]byte, error) {
	return k.DetachSignStream(func(w io.Writer) error { _, err := w.Write(msg); return err }, now)
}

// DetachSignStream is DetachSignBinary over a message that write writes,
// for messages too large to hold: a repository database made of chunks.
func (k *Key) DetachSignStream(write func(io.Writer) error, now time.Time) ([]byte, error) {
	sig, err := k.signStream(write, packet.SigTypeBinary, now)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := sig.Serialize(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (k *Key) sign(msg []byte, sigType packet.SignatureType, now time.Time) (*packet.Signature, error) {
	return k.signStream(func(w io.Writer) error { _, err := w.Write(msg); return err }, sigType, now)
}

func (k *Key) signStream(write func(io.Writer) error, sigType packet.SignatureType, now time.Time) (*packet.Signature, error) {
	sk, ok := k.entity.SigningKey(now)
	if !ok {
		return nil, fmt.Errorf("sign: key %s cannot sign at %s: not yet created, expired or revoked", k.Fingerprint(), now.UTC().Format(time.RFC3339))
	}
	cfg := config(now)
	pub := sk.PublicKey
	sig := &packet.Signature{
		Version:           pub.Version,
		SigType:           sigType,
		PubKeyAlgo:        pub.PubKeyAlgo,
		Hash:              signatureHash,
		CreationTime:      now,
		IssuerKeyId:       &pub.KeyId,
		IssuerKeyVersion:  uint8(pub.Version),
		IssuerFingerprint: pub.Fingerprint,
	}
	h, err := sig.PrepareSign(cfg)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	var hw io.Writer = h
	if sigType == packet.SigTypeText {
		hw = openpgp.NewCanonicalTextHash(h)
	}
	if err := write(hw); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	priv := sk.PrivateKey
	if fast, ok := k.rsa[priv]; ok {
		priv = fast
	}
	if err := sig.Sign(h, priv, cfg); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}
