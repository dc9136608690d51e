package rpmmd

import (
	"cmp"
	"slices"
	"strconv"
)

// Data is one metadata file listed in repomd.xml.
type Data struct {
	Type         string // "primary", "filelists", "other", "updateinfo", ...
	Checksum     string // hex SHA-256 of the file as served
	OpenChecksum string // hex SHA-256 of its uncompressed content; "" if served uncompressed
	Size         int64
	OpenSize     int64  // written only with OpenChecksum
	Location     string // href relative to the repository root: "repodata/<sha256>-primary.xml.gz"
	Timestamp    int64  // Unix time
}

// RepoMD renders repomd.xml as createrepo_c's cr_xml_dump_repomd does
// (xml_dump_repomd.c). The records are sorted as cr_repomd_sort_records
// sorts them, so the caller's order does not matter and the bytes depend
// on the content only.
func RepoMD(revision int64, data []Data) []byte {
	sorted := slices.Clone(data)
	slices.SortStableFunc(sorted, func(a, b Data) int {
		return cmp.Or(
			cmp.Compare(typeRank(a.Type), typeRank(b.Type)),
			cmp.Compare(a.Type, b.Type),
			cmp.Compare(a.Location, b.Location),
		)
	})

	b := make([]byte, 0, 256+512*len(sorted))
	b = append(b, xmlDecl...)
	b = append(b, "<repomd xmlns=\""+nsRepo+"\" xmlns:rpm=\""+nsRPM+"\">\n  <revision>"...)
	b = strconv.AppendInt(b, revision, 10)
	b = append(b, "</revision>\n"...)
	for _, d := range sorted {
		b = append(b, "  <data type=\""...)
		b = appendEscaped(b, d.Type, docAttr)
		b = append(b, "\">\n    <checksum type=\"sha256\">"...)
		b = appendEscaped(b, d.Checksum, text)
		b = append(b, "</checksum>\n"...)
		if d.OpenChecksum != "" {
			b = append(b, "    <open-checksum type=\"sha256\">"...)
			b = appendEscaped(b, d.OpenChecksum, text)
			b = append(b, "</open-checksum>\n"...)
		}
		b = append(b, "    <location href=\""...)
		b = appendEscaped(b, d.Location, docAttr)
		b = append(b, "\"/>\n    <timestamp>"...)
		b = strconv.AppendInt(b, d.Timestamp, 10)
		b = append(b, "</timestamp>\n    <size>"...)
		b = strconv.AppendInt(b, d.Size, 10)
		b = append(b, "</size>\n"...)
		if d.OpenChecksum != "" {
			b = append(b, "    <open-size>"...)
			b = strconv.AppendInt(b, d.OpenSize, 10)
			b = append(b, "</open-size>\n"...)
		}
		b = append(b, "  </data>\n"...)
	}
	return append(b, "</repomd>\n"...)
}

// typeRank keeps the base metadata first and in its logical order, as
// createrepo_c's record_type_value (repomd.c) does.
func typeRank(t string) int {
	switch t {
	case "primary":
		return 1
	case "filelists":
		return 2
	case "other":
		return 3
	case "primary_db":
		return 4
	case "filelists_db":
		return 5
	case "other_db":
		return 6
	case "primary_zck":
		return 7
	case "filelists_zck":
		return 8
	case "other_zck":
		return 9
	}
	return 10
}
