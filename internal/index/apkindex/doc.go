// Package apkindex writes the index of an Alpine (apk) repository,
// APKINDEX.tar.gz, and signs it as abuild-sign does, for apk-tools 2.x
// and for apk-tools 3, which still reads such indexes. It is pure:
// metadata and a key in, bytes out.
//
// A signed APKINDEX.tar.gz is two gzip members, one after the other:
//
//	gzip(tar(.SIGN.RSA256.<key name>.rsa.pub))   no end-of-archive blocks
//	gzip(tar(DESCRIPTION, APKINDEX))             with end-of-archive blocks
//
// apk reads them as one tar stream, so the first member must not end the
// archive; the signature is over the bytes of the second member, exactly
// as they are served. See Sign.
package apkindex
