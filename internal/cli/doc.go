// Package cli holds packhouse's subcommands, one file each (cmd_*.go), with
// their tests beside them. Commands talk to a server through
// internal/client or run the server itself; they hold no logic of their own
// beyond parsing flags and printing results.
package cli
