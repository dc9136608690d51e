// Package sign makes the OpenPGP keys and signatures that package managers
// check on repository metadata: InRelease and Release.gpg for apt,
// repomd.xml.asc for dnf and yum, .sig files for pacman.
//
// What it writes is chosen for the oldest clients still in the field, not
// for the newest standard: version 4 keys and signatures, SHA-512, a CRC on
// every armored block (rpm's own OpenPGP parser rejects armor without one),
// and no critical subpackets that old parsers do not know (yum on RHEL 7
// rejects a key whose signature creation time is marked critical).
package sign
