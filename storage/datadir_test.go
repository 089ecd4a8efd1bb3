package storage

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDataDirPrecedence(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	get := func(k string) string { return env[k] }
	check := func(flag, want string) {
		t.Helper()
		got, err := DataDir(flag, get)
		if err != nil || got != want {
			t.Fatalf("DataDir(%q) = %q, %v; want %q", flag, got, err, want)
		}
	}
	check("", "/home/u/.local/share/oneactor")
	env["XDG_DATA_HOME"] = "relative/ignored"
	check("", "/home/u/.local/share/oneactor")
	env["XDG_DATA_HOME"] = "/xdg"
	check("", "/xdg/oneactor")
	env[DataDirEnv] = "/env/lib"
	check("", "/env/lib")
	check("/flag/lib", "/flag/lib")
	wd, _ := os.Getwd()
	check("rel", filepath.Join(wd, "rel"))
}

func TestEnsureDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := EnsureDataDir(dir); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("folder %v %v", st, err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if err := EnsureDataDir(file); err == nil {
		t.Fatal("a file accepted as data folder")
	}
}
