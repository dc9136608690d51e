package build

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// rpmPassphraseVars are read, in order, for the passphrase of an encrypted
// rpm signing key; the NFPM_ ones are nfpm's, so its CI setups carry over.
var rpmPassphraseVars = []string{"PACKHOUSE_RPM_PASSPHRASE", "NFPM_RPM_PASSPHRASE", "NFPM_PASSPHRASE"}

// LoadOpenPGPKey reads a private OpenPGP key (armored or binary) for rpm
// signing, decrypting it with the passphrase from the environment when it
// is protected. lookupEnv is os.LookupEnv when nil.
func LoadOpenPGPKey(path string, lookupEnv func(string) (string, bool)) (*openpgp.Entity, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		keys, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not an OpenPGP key: %w", path, err)
	}
	if len(keys) == 0 || keys[0].PrivateKey == nil {
		return nil, fmt.Errorf("%s: holds no private key", path)
	}
	e := keys[0]
	if !e.PrivateKey.Encrypted {
		return e, nil
	}
	var pass string
	for _, v := range rpmPassphraseVars {
		if p, ok := lookupEnv(v); ok {
			pass = p
			break
		}
	}
	if pass == "" {
		return nil, fmt.Errorf("%s is encrypted; set %s", path, rpmPassphraseVars[0])
	}
	if err := e.DecryptPrivateKeys([]byte(pass)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Join(errors.New("wrong passphrase?"), err))
	}
	return e, nil
}
