// Package ort is the only package that talks to ONNX Runtime. It finds and
// loads the shared library (one environment per process), creates sessions on
// CUDA or CPU, and moves tensors in and out — with typed errors that say what
// to do when the library is missing, too old or not ONNX Runtime at all.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"
)

const (
	// LibraryEnv names the environment variable that points at the ONNX
	// Runtime shared library, or at the folder holding it.
	LibraryEnv = "ONNXRUNTIME_LIB"
	// TestedVersion is the ONNX Runtime release the app ships and is tested with.
	TestedVersion = "1.30.0"
	// minAPIVersion is the C API version the Go binding requests
	// (ORT_API_VERSION in the binding's onnxruntime_c_api.h); ONNX Runtime
	// 1.N serves API versions up to N.
	minAPIVersion = 26
)

// BundledDir is the folder `make` downloads ONNX Runtime into. The Makefile
// sets it at link time (-ldflags -X), so a binary built from a checkout finds
// the library it was tested with.
var BundledDir string

// Library error kinds, for errors.Is.
var (
	ErrLibraryMissing = errors.New("ONNX Runtime library not found")
	ErrLibraryInvalid = errors.New("not a usable ONNX Runtime library")
	ErrLibraryTooOld  = errors.New("ONNX Runtime library too old")
)

// LibraryError explains why ONNX Runtime could not be loaded: which paths
// were tried and how to fix it.
type LibraryError struct {
	Kind    error  // ErrLibraryMissing, ErrLibraryInvalid or ErrLibraryTooOld
	Path    string // the library that failed ("" when none was found)
	Tried   []string
	Version string // version reported by a too-old library
	Detail  string // the loader's own words
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	switch e.Kind {
	case ErrLibraryMissing:
		b.WriteString("ONNX Runtime library not found")
		if len(e.Tried) > 0 {
			fmt.Fprintf(&b, " (%s)", describeTried(e.Tried))
		}
		fmt.Fprintf(&b, ". Fix: run `make setup` in the source folder to download ONNX Runtime %s, "+
			"or set %s to the path of libonnxruntime.so (or the folder holding it).", TestedVersion, LibraryEnv)
	case ErrLibraryTooOld:
		fmt.Fprintf(&b, "ONNX Runtime at %s is version %s, too old: this app needs %s or newer "+
			"(C API %d). Fix: point %s at ONNX Runtime %s, or run `make setup`.",
			e.Path, orUnknown(e.Version), fmt.Sprintf("1.%d.0", minAPIVersion), minAPIVersion, LibraryEnv, TestedVersion)
	default:
		fmt.Fprintf(&b, "%s is not a usable ONNX Runtime library", e.Path)
		if e.Detail != "" {
			fmt.Fprintf(&b, ": %s", e.Detail)
		}
		fmt.Fprintf(&b, ". Fix: point %s at libonnxruntime.so from ONNX Runtime %s for this machine "+
			"(linux x64), or unset it to use the bundled copy.", LibraryEnv, TestedVersion)
	}
	return b.String()
}

func (e *LibraryError) Is(target error) bool { return target == e.Kind }

// describeTried shortens the list of paths: folders searched for the usual
// file names are named once.
func describeTried(tried []string) string {
	var dirs, files []string
	seen := map[string]bool{}
	for _, p := range tried {
		if !slices.Contains(libraryNames, filepath.Base(p)) {
			files = append(files, p)
			continue
		}
		if d := filepath.Dir(p); !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 1 && len(files) == 0 && len(tried) == 1 {
		return "tried " + tried[0]
	}
	var parts []string
	if len(files) > 0 {
		parts = append(parts, "tried "+strings.Join(files, ", "))
	}
	if len(dirs) > 0 {
		parts = append(parts, fmt.Sprintf("looked for %s in %s",
			strings.Join(libraryNames, ", "), strings.Join(dirs, ", ")))
	}
	return strings.Join(parts, "; ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Candidate is a place the library may be.
type Candidate struct {
	Path   string
	Source string // "ONNXRUNTIME_LIB", "bundled" or "system"
}

// libraryNames are the file names to look for inside a folder, most specific
// first.
var libraryNames = []string{"libonnxruntime.so", "libonnxruntime.so.1", "libonnxruntime.so." + TestedVersion}

// Candidates lists where to look, in order: ONNXRUNTIME_LIB (and nothing
// else when it is set: an explicit choice must not silently fall back), the
// bundled folders (next to the executable, then the build's download
// folder), then standard system locations.
func Candidates(getenv func(string) string, exeDir string) []Candidate {
	if v := getenv(LibraryEnv); v != "" {
		if st, err := os.Stat(v); err == nil && st.IsDir() {
			return inDir(v, LibraryEnv)
		}
		return []Candidate{{Path: v, Source: LibraryEnv}}
	}
	var out []Candidate
	if exeDir != "" {
		out = append(out, inDir(filepath.Join(exeDir, "lib"), "bundled")...)
		out = append(out, inDir(exeDir, "bundled")...)
	}
	if BundledDir != "" {
		out = append(out, inDir(BundledDir, "bundled")...)
	}
	dirs := filepath.SplitList(getenv("LD_LIBRARY_PATH"))
	dirs = append(dirs, "/usr/local/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib", "/opt/onnxruntime/lib")
	for _, d := range dirs {
		if d != "" {
			out = append(out, inDir(d, "system")...)
		}
	}
	return out
}

func inDir(dir, source string) []Candidate {
	out := make([]Candidate, len(libraryNames))
	for i, n := range libraryNames {
		out[i] = Candidate{Path: filepath.Join(dir, n), Source: source}
	}
	return out
}

// Locate returns the first candidate that exists, or a LibraryError listing
// every path tried.
func Locate(cands []Candidate) (Candidate, error) {
	var tried []string
	for _, c := range cands {
		if st, err := os.Stat(c.Path); err == nil && !st.IsDir() {
			return c, nil
		}
		tried = append(tried, c.Path)
	}
	return Candidate{}, &LibraryError{Kind: ErrLibraryMissing, Tried: dedupe(tried)}
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Runtime is the loaded ONNX Runtime: one per process.
type Runtime struct {
	Version     string
	LibraryPath string
	Source      string

	cudaOnce   sync.Once
	cudaReason string
}

var (
	initMu  sync.Mutex
	current *Runtime
)

// Init loads ONNX Runtime from the standard places (see Candidates). It is
// safe to call many times: after a success it returns the same Runtime;
// after a failure the next call tries again (the user may have fixed the
// path meanwhile).
func Init() (*Runtime, error) {
	exe, _ := os.Executable()
	exeDir := ""
	if exe != "" {
		exeDir = filepath.Dir(exe)
	}
	return InitFrom(Candidates(os.Getenv, exeDir))
}

// InitFrom loads ONNX Runtime from the first existing candidate.
func InitFrom(cands []Candidate) (*Runtime, error) {
	initMu.Lock()
	defer initMu.Unlock()
	if current != nil {
		return current, nil
	}
	c, err := Locate(cands)
	if err != nil {
		return nil, err
	}
	path, err := filepath.Abs(c.Path)
	if err != nil {
		path = c.Path
	}
	p := probeLibrary(path, minAPIVersion)
	switch {
	case p.loadErr != "":
		return nil, &LibraryError{Kind: ErrLibraryInvalid, Path: path, Detail: p.loadErr}
	case p.notORT != "":
		return nil, &LibraryError{Kind: ErrLibraryInvalid, Path: path,
			Detail: "it has no OrtGetApiBase symbol (" + p.notORT + ")"}
	case !p.hasAPI || versionLess(p.version, minAPIVersion):
		return nil, &LibraryError{Kind: ErrLibraryTooOld, Path: path, Version: p.version}
	}
	ortgo.SetSharedLibraryPath(path)
	if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError()); err != nil {
		return nil, classifyInitError(path, p.version, err)
	}
	current = &Runtime{Version: ortgo.GetVersion(), LibraryPath: path, Source: c.Source}
	return current, nil
}

// classifyInitError maps the binding's error text to a typed error. The probe
// catches these cases first; this is the safety net should the binding and
// the probe ever disagree.
func classifyInitError(path, version string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Error setting ORT API base: 2"):
		return &LibraryError{Kind: ErrLibraryTooOld, Path: path, Version: version}
	default:
		return &LibraryError{Kind: ErrLibraryInvalid, Path: path, Detail: msg}
	}
}

// versionLess reports whether an "1.N.x" version string is below 1.min.
// Unparseable strings are not judged here (the API check decides).
func versionLess(v string, min int) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || parts[0] != "1" {
		return false
	}
	n, err := strconv.Atoi(parts[1])
	return err == nil && n < min
}

// Current returns the loaded runtime, if Init has succeeded.
func Current() (*Runtime, bool) {
	initMu.Lock()
	defer initMu.Unlock()
	return current, current != nil
}
