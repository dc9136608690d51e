package rpm

import (
	"bytes"
	"crypto"
	"fmt"
	"sort"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// signHeader makes the header-only OpenPGP signature rpm 4.16+ verifies
// (rpmsign's default since then): a binary v4 signature over the main
// header blob, stored as RPMSIGTAG_RSA for RSA keys and RPMSIGTAG_DSA for
// the others, as rpmsign does.
func signHeader(hdr []byte, signer *openpgp.Entity, t time.Time) (int32, []byte, error) {
	t, key, err := signingTime(signer, t)
	if err != nil {
		return 0, nil, err
	}
	if key.PublicKey.Version != 4 {
		return 0, nil, fmt.Errorf("rpm: signing key is OpenPGP v%d; rpm verifies v4 signatures only", key.PublicKey.Version)
	}
	tag := int32(sigDSA)
	switch key.PublicKey.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly:
		tag = sigRSA
	case packet.PubKeyAlgoEdDSA, packet.PubKeyAlgoECDSA, packet.PubKeyAlgoDSA:
	default:
		return 0, nil, fmt.Errorf("rpm: rpm cannot verify signatures of OpenPGP key algorithm %d", key.PublicKey.PubKeyAlgo)
	}
	// The salt notation go-crypto adds by default would make every
	// signature, and so every signed package, different.
	deterministic := false
	cfg := &packet.Config{
		DefaultHash:                           crypto.SHA256,
		Time:                                  func() time.Time { return t },
		SigningKeyId:                          key.PublicKey.KeyId,
		NonDeterministicSignaturesViaNotation: &deterministic,
	}
	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, signer, bytes.NewReader(hdr), cfg); err != nil {
		return 0, nil, fmt.Errorf("rpm: signing header: %w", err)
	}
	return tag, sig.Bytes(), nil
}

// signingTime returns the signature's creation time and the key that makes
// it. The creation time is the build time, so that signed builds are
// reproducible, unless the key is younger than the build time (a commit's
// SOURCE_DATE_EPOCH can predate the repository's key): then it is the
// earliest moment the key is valid, which is just as reproducible.
func signingTime(signer *openpgp.Entity, t time.Time) (time.Time, openpgp.Key, error) {
	if signer == nil || signer.PrimaryKey == nil {
		return t, openpgp.Key{}, fmt.Errorf("rpm: no signing key")
	}
	if key, ok := signer.SigningKeyById(t, 0); ok {
		return t, key, nil
	}
	var candidates []time.Time
	add := func(c time.Time) {
		if c.After(t) {
			candidates = append(candidates, c)
		}
	}
	add(signer.PrimaryKey.CreationTime)
	for _, id := range signer.Identities {
		if id.SelfSignature != nil {
			add(id.SelfSignature.CreationTime)
		}
	}
	for _, s := range signer.Subkeys {
		add(s.PublicKey.CreationTime)
		if s.Sig != nil {
			add(s.Sig.CreationTime)
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].Before(candidates[j]) })
	for _, c := range candidates {
		if key, ok := signer.SigningKeyById(c, 0); ok {
			return c, key, nil
		}
	}
	return t, openpgp.Key{}, fmt.Errorf("rpm: key %X has no usable signing key", signer.PrimaryKey.Fingerprint)
}
