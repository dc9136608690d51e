// Package version parses and orders Debian package versions
// ([epoch:]upstream[-revision]) exactly as dpkg does, so that the server
// picks the same "newest" package that apt and dpkg would install.
package version
