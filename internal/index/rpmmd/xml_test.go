package rpmmd

import (
	"fmt"
	"reflect"
	"strings"
)

// The types below read rpm-md documents back with encoding/xml, so that
// tests check what a parser sees rather than which bytes were written.
// Tags without a namespace match the rpm: elements too.

type xmlPrimary struct {
	Count    int                 `xml:"packages,attr"`
	Packages []xmlPrimaryPackage `xml:"package"`
}

type xmlVersion struct {
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
}

type xmlEntry struct {
	Name  string `xml:"name,attr"`
	Flags string `xml:"flags,attr"`
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
	Pre   string `xml:"pre,attr"`
}

type xmlDeps struct {
	Entries []xmlEntry `xml:"entry"`
}

type xmlFile struct {
	Type string `xml:"type,attr"`
	Path string `xml:",chardata"`
}

type xmlPrimaryPackage struct {
	Type     string     `xml:"type,attr"`
	Name     string     `xml:"name"`
	Arch     string     `xml:"arch"`
	Version  xmlVersion `xml:"version"`
	Checksum struct {
		Type  string `xml:"type,attr"`
		PkgID string `xml:"pkgid,attr"`
		Value string `xml:",chardata"`
	} `xml:"checksum"`
	Summary     string `xml:"summary"`
	Description string `xml:"description"`
	Packager    string `xml:"packager"`
	URL         string `xml:"url"`
	Time        struct {
		File  int64 `xml:"file,attr"`
		Build int64 `xml:"build,attr"`
	} `xml:"time"`
	Size struct {
		Package   int64 `xml:"package,attr"`
		Installed int64 `xml:"installed,attr"`
		Archive   int64 `xml:"archive,attr"`
	} `xml:"size"`
	Location struct {
		Href string `xml:"href,attr"`
	} `xml:"location"`
	Format struct {
		License     string `xml:"license"`
		Vendor      string `xml:"vendor"`
		Group       string `xml:"group"`
		BuildHost   string `xml:"buildhost"`
		SourceRPM   string `xml:"sourcerpm"`
		HeaderRange struct {
			Start int64 `xml:"start,attr"`
			End   int64 `xml:"end,attr"`
		} `xml:"header-range"`
		Provides    xmlDeps   `xml:"provides"`
		Requires    xmlDeps   `xml:"requires"`
		Conflicts   xmlDeps   `xml:"conflicts"`
		Obsoletes   xmlDeps   `xml:"obsoletes"`
		Suggests    xmlDeps   `xml:"suggests"`
		Enhances    xmlDeps   `xml:"enhances"`
		Recommends  xmlDeps   `xml:"recommends"`
		Supplements xmlDeps   `xml:"supplements"`
		Files       []xmlFile `xml:"file"`
	} `xml:"format"`
}

type xmlFilelists struct {
	Count    int `xml:"packages,attr"`
	Packages []struct {
		PkgID   string     `xml:"pkgid,attr"`
		Name    string     `xml:"name,attr"`
		Arch    string     `xml:"arch,attr"`
		Version xmlVersion `xml:"version"`
		Files   []xmlFile  `xml:"file"`
	} `xml:"package"`
}

type xmlOther struct {
	Count    int `xml:"packages,attr"`
	Packages []struct {
		PkgID      string     `xml:"pkgid,attr"`
		Name       string     `xml:"name,attr"`
		Arch       string     `xml:"arch,attr"`
		Version    xmlVersion `xml:"version"`
		Changelogs []struct {
			Author string `xml:"author,attr"`
			Date   int64  `xml:"date,attr"`
			Text   string `xml:",chardata"`
		} `xml:"changelog"`
	} `xml:"package"`
}

type xmlRepoMD struct {
	Revision int64 `xml:"revision"`
	Data     []struct {
		Type     string `xml:"type,attr"`
		Checksum struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"checksum"`
		OpenChecksum struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"open-checksum"`
		Location struct {
			Href string `xml:"href,attr"`
		} `xml:"location"`
		Timestamp int64 `xml:"timestamp"`
		Size      int64 `xml:"size"`
		OpenSize  int64 `xml:"open-size"`
	} `xml:"data"`
}

// fromXML assembles Packages from the three documents: primary.xml for
// the package, filelists.xml for all of its files (primary.xml lists only
// some), other.xml for its changelog. It panics on documents that
// disagree, which the tests that call it treat as a failure anyway.
func fromXML(p *xmlPrimary, f *xmlFilelists, o *xmlOther) []*Package {
	var out []*Package
	for _, x := range p.Packages {
		if x.Type != "rpm" || x.Checksum.Type != "sha256" || x.Checksum.PkgID != "YES" {
			panic(fmt.Sprintf("package %s: type %q, checksum type %q, pkgid %q", x.Name, x.Type, x.Checksum.Type, x.Checksum.PkgID))
		}
		pkg := &Package{
			Name: x.Name, Arch: x.Arch,
			Epoch: x.Version.Epoch, Version: x.Version.Ver, Release: x.Version.Rel,
			SHA256: x.Checksum.Value, Summary: x.Summary, Description: x.Description,
			Packager: x.Packager, URL: x.URL,
			License: x.Format.License, Vendor: x.Format.Vendor, Group: x.Format.Group,
			BuildHost: x.Format.BuildHost, SourceRPM: x.Format.SourceRPM,
			FileTime: x.Time.File, BuildTime: x.Time.Build,
			PackageSize: x.Size.Package, InstalledSize: x.Size.Installed, ArchiveSize: x.Size.Archive,
			Location:    x.Location.Href,
			HeaderStart: x.Format.HeaderRange.Start, HeaderEnd: x.Format.HeaderRange.End,
			Provides: deps(x.Format.Provides), Requires: deps(x.Format.Requires),
			Conflicts: deps(x.Format.Conflicts), Obsoletes: deps(x.Format.Obsoletes),
			Suggests: deps(x.Format.Suggests), Enhances: deps(x.Format.Enhances),
			Recommends: deps(x.Format.Recommends), Supplements: deps(x.Format.Supplements),
		}
		found := false
		for _, fp := range f.Packages {
			if fp.PkgID == pkg.SHA256 {
				found = true
				if fp.Name != pkg.Name || fp.Arch != pkg.Arch || fp.Version != x.Version {
					panic("filelists.xml disagrees with primary.xml about " + pkg.Name)
				}
				for _, file := range fp.Files {
					pkg.Files = append(pkg.Files, file.toFile())
				}
			}
		}
		for _, op := range o.Packages {
			if op.PkgID == pkg.SHA256 {
				if op.Name != pkg.Name || op.Arch != pkg.Arch || op.Version != x.Version {
					panic("other.xml disagrees with primary.xml about " + pkg.Name)
				}
				for _, c := range op.Changelogs {
					pkg.Changelogs = append(pkg.Changelogs, Changelog{Author: c.Author, Date: c.Date, Text: c.Text})
				}
			}
		}
		if !found {
			panic("filelists.xml has no " + pkg.Name)
		}
		var primaryFiles []File
		for _, file := range x.Format.Files {
			primaryFiles = append(primaryFiles, file.toFile())
		}
		var want []File
		for _, file := range pkg.Files {
			if IsPrimaryFile(file.Path) {
				want = append(want, file)
			}
		}
		if !reflect.DeepEqual(primaryFiles, want) {
			panic(fmt.Sprintf("%s: primary.xml lists files %v, filelists.xml's primary ones are %v", pkg.Name, primaryFiles, want))
		}
		out = append(out, pkg)
	}
	return out
}

func (f xmlFile) toFile() File { return File{Path: f.Path, Type: f.Type} }

func deps(x xmlDeps) []Dep {
	var out []Dep
	for _, e := range x.Entries {
		out = append(out, Dep{Name: e.Name, Flags: e.Flags, Epoch: e.Epoch, Ver: e.Ver, Rel: e.Rel, Pre: e.Pre == "1"})
	}
	return out
}

// diffPackage lists the fields in which got and want differ, treating nil
// and empty slices as equal.
func diffPackage(got, want *Package) string {
	var b strings.Builder
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := 0; i < g.NumField(); i++ {
		gf, wf := g.Field(i), w.Field(i)
		if gf.Kind() == reflect.Slice && gf.Len() == 0 && wf.Len() == 0 {
			continue
		}
		if !reflect.DeepEqual(gf.Interface(), wf.Interface()) {
			fmt.Fprintf(&b, "%s:\n  got  %#v\n  want %#v\n", g.Type().Field(i).Name, gf.Interface(), wf.Interface())
		}
	}
	return b.String()
}
