package ort

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// childEnv makes the test binary act as a fresh process that calls Init and
// reports the outcome: Init works once per process, so each library
// scenario needs a process of its own.
const childEnv = "ORT_TEST_INIT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		rt, err := Init()
		var le *LibraryError
		switch {
		case err == nil:
			fmt.Printf("OK %s %s\n", rt.Version, rt.Source)
		case errors.Is(err, ErrLibraryMissing) && errors.As(err, &le):
			fmt.Printf("MISSING %s\n", err)
		case errors.Is(err, ErrLibraryTooOld) && errors.As(err, &le):
			fmt.Printf("TOOOLD %s\n", err)
		case errors.Is(err, ErrLibraryInvalid) && errors.As(err, &le):
			fmt.Printf("INVALID %s\n", err)
		default:
			fmt.Printf("UNTYPED %v\n", err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func initInChild(t *testing.T, lib string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", LibraryEnv+"="+lib)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child crashed: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func buildSharedLib(t *testing.T, dir, name, src string) string {
	t.Helper()
	c := filepath.Join(dir, name+".c")
	so := filepath.Join(dir, name)
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", so, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return so
}

func TestLibraryErrorsAreTyped(t *testing.T) {
	rt := testRuntime(t) // the real library, for the success case
	dir := t.TempDir()

	garbage := filepath.Join(dir, "garbage", "libonnxruntime.so")
	os.MkdirAll(filepath.Dir(garbage), 0o755)
	os.WriteFile(garbage, []byte("definitely not an ELF file"), 0o644)

	notORT := buildSharedLib(t, dir, "libz_lookalike.so", "int deflate_something(void) { return 1; }\n")

	// A library that is ONNX Runtime 1.10 as far as the C ABI can tell: it
	// reports that version and serves no C API newer than 10.
	oldDir := filepath.Join(dir, "old")
	os.MkdirAll(oldDir, 0o755)
	buildSharedLib(t, oldDir, "libonnxruntime.so", `
typedef struct { const void* (*GetApi)(unsigned); const char* (*GetVersionString)(void); } base;
static const void* get_api(unsigned v) { static int api; return v <= 10 ? &api : 0; }
static const char* version(void) { return "1.10.0"; }
static const base b = { get_api, version };
const base* OrtGetApiBase(void) { return &b; }
`)

	cases := []struct {
		name, lib, want string
		mention         []string
	}{
		{"missing file", filepath.Join(dir, "nope", "libonnxruntime.so"), "MISSING", []string{"nope/libonnxruntime.so", LibraryEnv, "make setup"}},
		{"missing folder", filepath.Join(dir, "empty-folder-that-is-absent"), "MISSING", []string{"empty-folder-that-is-absent"}},
		{"not a library", garbage, "INVALID", []string{garbage, LibraryEnv}},
		{"not ONNX Runtime", notORT, "INVALID", []string{notORT, "OrtGetApiBase"}},
		{"too old (folder)", oldDir, "TOOOLD", []string{"1.10.0", "too old", TestedVersion}},
		{"working library", rt.LibraryPath, "OK " + TestedVersion + " " + LibraryEnv, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := initInChild(t, c.lib)
			if !strings.HasPrefix(got, c.want) {
				t.Fatalf("got %q, want prefix %q", got, c.want)
			}
			for _, m := range c.mention {
				if !strings.Contains(got, m) {
					t.Errorf("message %q does not mention %q", got, m)
				}
			}
		})
	}
}

func TestCandidatesOrder(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LD_LIBRARY_PATH": "/opt/a:/opt/b"}
	getenv := func(k string) string { return env[k] }
	old := BundledDir
	BundledDir = "/build/.deps/ort"
	defer func() { BundledDir = old }()

	var dirs []string
	for _, c := range Candidates(getenv, "/app") {
		d := filepath.Dir(c.Path) + ":" + c.Source
		if len(dirs) == 0 || dirs[len(dirs)-1] != d {
			dirs = append(dirs, d)
		}
	}
	want := []string{"/app/lib:bundled", "/app:bundled", "/build/.deps/ort:bundled",
		"/opt/a:system", "/opt/b:system", "/usr/local/lib:system", "/usr/lib/x86_64-linux-gnu:system",
		"/usr/lib:system", "/opt/onnxruntime/lib:system"}
	if !reflect.DeepEqual(dirs, want) {
		t.Fatalf("search order\n got %v\nwant %v", dirs, want)
	}

	// An explicit ONNXRUNTIME_LIB is the only candidate: no silent fallback.
	env[LibraryEnv] = filepath.Join(dir, "custom.so")
	if c := Candidates(getenv, "/app"); len(c) != 1 || c[0].Source != LibraryEnv {
		t.Fatalf("explicit library: %v", c)
	}
	env[LibraryEnv] = dir
	for _, c := range Candidates(getenv, "/app") {
		if filepath.Dir(c.Path) != dir {
			t.Fatalf("explicit folder leaked other candidates: %v", c)
		}
	}
}
