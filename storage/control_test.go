package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestBackupAndCheckWhileTheAppRuns(t *testing.T) {
	l, dir := openTemp(t)
	for i := 0; i < 20; i++ {
		if err := l.AddGeneration(&Generation{Recipe: Recipe{Prompt: "p"}}, []byte{byte(i), 1}, []byte{byte(i), 2}); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "copy", FileName)
	os.MkdirAll(filepath.Dir(dst), 0o700)
	n, err := BackupLibrary(dir, dst)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dst); st == nil || st.Size() != n {
		t.Fatalf("backup of %d bytes, file %v", n, st)
	}
	rep, err := CheckLibrary(dir)
	if err != nil || !rep.OK() || rep.Generations != 20 {
		t.Fatalf("check through the open window: %+v %v", rep, err)
	}
	// The copy is a complete library of its own.
	copyRep, err := CheckLibrary(filepath.Dir(dst))
	if err != nil || !copyRep.OK() || copyRep.Generations != 20 || copyRep.Blobs != 40 {
		t.Fatalf("check of the backup: %+v %v", copyRep, err)
	}
	l.Close()
	if _, err := os.Stat(socketPath(l.Path())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left after close: %v", err)
	}
	// Without a window the command line reads the file itself.
	if _, err := BackupLibrary(dir, dst); err != nil {
		t.Fatal(err)
	}
	if rep, err := CheckLibrary(dir); err != nil || !rep.OK() {
		t.Fatalf("direct check: %+v %v", rep, err)
	}
}
