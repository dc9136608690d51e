package spec

import (
	"errors"
	"strconv"
)

// warnIgnored logs the nfpm keys that packhouse accepts but does not act
// on, so that an nfpm.yaml moves over unchanged and its author still
// learns what differs. docs/build.md lists the same keys.
func (s *Spec) warnIgnored() {
	warn := func(line int, key, why string) {
		s.log.Warn("spec key ignored", "file", s.file, "line", line, "key", key, "why", why)
	}
	r := &s.raw
	if r.Changelog.Set {
		warn(r.Changelog.Line, "changelog", "chglog changelogs are not generated; add the changelog as a file under contents")
	}
	if r.IPK.Set {
		warn(r.IPK.Line, "ipk", "packhouse does not build ipk packages")
	}
	if r.MSIX.Set {
		warn(r.MSIX.Line, "msix", "packhouse does not build msix packages")
	}
	sections := map[string]*rawOverridables{"": &r.rawOverridables}
	for name, ov := range r.Overrides {
		sections["overrides."+name+"."] = &ov
	}
	for prefix, o := range sections {
		if o.Deb.Scripts.Rules.Set {
			warn(o.Deb.Scripts.Rules.Line, prefix+"deb.scripts.rules", "rules belongs to source packages; binary packages do not carry it")
		}
		if o.Deb.ArchVariant.Set {
			warn(o.Deb.ArchVariant.Line, prefix+"deb.arch_variant", "amd64 variants are not written")
		}
		if o.RPM.Requires.Set {
			warn(o.RPM.Requires.Line, prefix+"rpm.requires", "qualified requires are not written")
		}
		if o.IPK.Set {
			warn(o.IPK.Line, prefix+"ipk", "packhouse does not build ipk packages")
		}
		if o.RPM.Signature.KeyID.Set {
			warn(o.RPM.Signature.KeyID.Line, prefix+"rpm.signature.key_id", "the key file's first signing key is used")
		}
		if o.APK.Signature.KeyID.Set {
			warn(o.APK.Signature.KeyID.Line, prefix+"apk.signature.key_id", "apk signatures have no key id")
		}
		for i, c := range o.Contents {
			if c.FileInfo.Lang.Set {
				warn(c.FileInfo.Lang.Line, prefix+"contents["+strconv.Itoa(i)+"].file_info.lang", "rpm language tags are not written")
			}
			if c.DisownSubtree.Set {
				warn(c.DisownSubtree.Line, prefix+"contents["+strconv.Itoa(i)+"].disown_subtree", "every directory of a tree is owned")
			}
		}
	}
}

// checkUnsupported rejects settings whose silent omission would ship
// something other than what was asked for: a spec that asks for a signed
// deb or rpm must not quietly produce an unsigned one.
func (s *Spec) checkUnsupported(o *rawOverridables, prefix string) error {
	if k := o.Deb.Signature.KeyFile; k.Set && s.str(k) != "" {
		return errorf(k.Line, prefix+"deb.signature.key_file", "%w", errors.New("signing .deb files is not supported; sign the repository (packhouse serve signs Release/InRelease) instead"))
	}
	return nil
}
