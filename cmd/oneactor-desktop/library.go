package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/oneactor/oneactor-desktop/storage"
)

const libraryUsage = `Usage: oneactor-desktop [--data-dir DIR] library backup FILE
       oneactor-desktop [--data-dir DIR] library check

  backup FILE  write a consistent copy of the library database to FILE
               (works while the app is open: the open window writes it)
  check        run the database consistency check (pages, records, blobs)
`

// runLibrary runs `library backup FILE` and `library check`.
func runLibrary(args []string, dataDir string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "oneactor-desktop library:", err)
		return 1
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, libraryUsage)
		return 2
	}
	switch args[0] {
	case "backup":
		if len(args) != 2 {
			fmt.Fprint(stderr, libraryUsage)
			return 2
		}
		dst := args[1]
		// Never replace an existing file: it may be the previous backup.
		if _, err := os.Lstat(dst); err == nil {
			return fail(fmt.Errorf("%s already exists; choose a new file name", dst))
		} else if !errors.Is(err, os.ErrNotExist) {
			return fail(err)
		}
		n, err := storage.BackupLibrary(dataDir, dst)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "wrote a copy of the library (%d bytes) to %s\n", n, dst)
		return 0
	case "check":
		if len(args) != 1 {
			fmt.Fprint(stderr, libraryUsage)
			return 2
		}
		rep, err := storage.CheckLibrary(dataDir)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%d subjects, %d generations, %d jobs, %d blobs (%d bytes)\n",
			rep.Subjects, rep.Generations, rep.Jobs, rep.Blobs, rep.BlobBytes)
		if !rep.OK() {
			for _, p := range rep.Problems {
				fmt.Fprintln(stdout, "problem:", p)
			}
			fmt.Fprintf(stdout, "library check FAILED: %d problems\n", len(rep.Problems))
			return 1
		}
		fmt.Fprintln(stdout, "library check passed")
		return 0
	default:
		fmt.Fprintf(stderr, "oneactor-desktop library: unknown command %q\n", args[0])
		fmt.Fprint(stderr, libraryUsage)
		return 2
	}
}
