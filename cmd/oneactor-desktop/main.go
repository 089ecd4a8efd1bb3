// Command oneactor-desktop is the OneActor Desktop app: the window by
// default, or a headless subcommand (see `oneactor-desktop help`).
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
