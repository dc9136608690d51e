// Command packhouse builds, hosts, tests and ships packages.
package main

import (
	"os"

	"github.com/packhouse/packhouse/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
