package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/storage"
)

func TestLibraryBackupAndCheckCommands(t *testing.T) {
	dir := t.TempDir()
	lib, err := storage.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := lib.AddGeneration(&storage.Generation{Recipe: storage.Recipe{Prompt: "a mug"}}, []byte("png"), []byte("thumb")); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"--data-dir", dir, "library"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	// While the library is open (as in a running window).
	dst := filepath.Join(t.TempDir(), "backup.db")
	if code, out, errs := cli("backup", dst); code != 0 || !strings.Contains(out, "wrote a copy") {
		t.Fatalf("backup: %d %q %q", code, out, errs)
	}
	if code, out, errs := cli("check"); code != 0 || !strings.Contains(out, "0 subjects, 1 generations") || !strings.Contains(out, "library check passed") {
		t.Fatalf("check: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli("backup", dst); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("backup over an existing file: %d %q", code, errs)
	}
	lib.Close()
	if code, out, errs := cli("check"); code != 0 || !strings.Contains(out, "0 subjects, 1 generations") {
		t.Fatalf("check with the app closed: %d %q %q", code, out, errs)
	}
	// A damaged file: a clear error, exit 1.
	os.WriteFile(filepath.Join(dir, storage.FileName), []byte("garbage garbage garbage"), 0o600)
	if code, _, errs := cli("check"); code != 1 || !strings.Contains(errs, "damaged") {
		t.Fatalf("check of garbage: %d %q", code, errs)
	}
	if code, _, _ := cli("frob"); code != 2 {
		t.Fatalf("unknown subcommand exit %d", code)
	}
}
