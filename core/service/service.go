// Package service is the facade between the user interfaces (GUI, CLI) and
// the engine: the one place that knows every part. Interfaces call it; it
// never imports a widget toolkit.
package service

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	oneactor "github.com/oneactor/oneactor-desktop"
	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// Config is what the user chose at start-up (flags, environment).
type Config struct {
	DataDir  string
	Provider ort.Provider
	// Threads caps ONNX Runtime's intra-op threads (0: one per core).
	Threads int
}

// Service owns the app's long-lived state.
type Service struct {
	cfg Config

	// loading is held (shared) by every model load in flight (the bundled
	// model is extracted to the data folder on first use); Close takes it
	// exclusively, so a closing window lets those loads finish.
	loading   sync.RWMutex
	closed    bool // set under loading by Close
	mu        sync.Mutex
	rt        *ort.Runtime
	engine    *diffusion.Engine
	engineRef string
}

// New returns a service; nothing heavy happens until it is used.
func New(cfg Config) *Service {
	if cfg.Provider == "" {
		cfg.Provider = ort.ProviderAuto
	}
	return &Service{cfg: cfg}
}

// Runtime loads ONNX Runtime on first use. A failed load is retried on the
// next call, so fixing ONNXRUNTIME_LIB and pressing "Check again" works.
func (s *Service) Runtime() (*ort.Runtime, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rt != nil {
		return s.rt, nil
	}
	rt, err := ort.Init()
	if err != nil {
		return nil, err
	}
	s.rt = rt
	return rt, nil
}

// Provider is the execution provider chosen at start-up.
func (s *Service) Provider() ort.Provider {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Provider
}

// SessionOptions are the settings new engines (and benchmarks that open
// sessions of their own) use: the provider and the thread cap.
func (s *Service) SessionOptions() ort.SessionOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ort.SessionOptions{Provider: s.cfg.Provider, IntraOpThreads: s.cfg.Threads}
}

// DataDir is the library folder.
func (s *Service) DataDir() string { return s.cfg.DataDir }

// Diagnostics is the state of the machine as the app sees it.
type Diagnostics struct {
	App      string // "OneActor Desktop 0.1.0 (build 1)"
	Platform string // "linux/amd64, Go 1.26.8"

	ORTVersion string
	ORTLibrary string
	ORTSource  string // ONNXRUNTIME_LIB, bundled or system
	ORTError   string // set when ONNX Runtime could not be loaded

	Requested      ort.Provider
	Provider       string // "CUDA (device 0)" or "CPU"
	ProviderReason string // why not CUDA, in ONNX Runtime's own words
	ProviderError  string // the requested provider cannot be used
	ProviderHint   string // what to do to get CUDA, when it is missing

	DataDir string
}

// OK reports whether models can run.
func (d Diagnostics) OK() bool { return d.ORTError == "" && d.ProviderError == "" }

// Diagnostics loads ONNX Runtime if needed and reports what will run models.
func (s *Service) Diagnostics() Diagnostics {
	info := oneactor.AppInfo().Details
	d := Diagnostics{
		App:       fmt.Sprintf("%s %s (build %d)", info.Name, info.Version, info.Build),
		Platform:  fmt.Sprintf("%s/%s, %s", runtime.GOOS, runtime.GOARCH, strings.Replace(runtime.Version(), "go", "Go ", 1)),
		Requested: s.Provider(),
		DataDir:   s.cfg.DataDir,
	}
	rt, err := s.Runtime()
	if err != nil {
		d.ORTError = err.Error()
		d.Provider = "none"
		return d
	}
	d.ORTVersion, d.ORTLibrary, d.ORTSource = rt.Version, rt.LibraryPath, rt.Source
	cudaOK, reason := rt.CUDAStatus()
	switch {
	case d.Requested == ort.ProviderCPU:
		d.Provider = "CPU"
		d.ProviderReason = "CPU was requested (--provider cpu)"
	case cudaOK:
		d.Provider = "CUDA (device 0)"
	case d.Requested == ort.ProviderCUDA:
		d.Provider = "none"
		d.ProviderError = "CUDA was requested but cannot be used: " + reason
		d.ProviderHint = cudaHint
	default:
		d.Provider = "CPU"
		d.ProviderReason = reason
		d.ProviderHint = cudaHint
	}
	return d
}

// cudaHint tells how to switch to the GPU build of ONNX Runtime.
var cudaHint = "to use an NVIDIA GPU, put the GPU build of ONNX Runtime " + ort.TestedVersion +
	" (libonnxruntime.so, libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so; " +
	"needs CUDA 12 and cuDNN 9) in one folder and set " + ort.LibraryEnv + " to that folder"

// Text renders the diagnostics as the `doctor` command prints them.
func (d Diagnostics) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", d.App)
	row := func(k, v string) { fmt.Fprintf(&b, "%-14s %s\n", k+":", v) }
	row("Platform", d.Platform)
	if d.ORTError != "" {
		row("ONNX Runtime", "NOT LOADED")
		fmt.Fprintf(&b, "  %s\n", d.ORTError)
	} else {
		row("ONNX Runtime", d.ORTVersion)
		row("Library", fmt.Sprintf("%s (%s)", d.ORTLibrary, d.ORTSource))
	}
	row("Provider", fmt.Sprintf("%s (requested: %s)", d.Provider, d.Requested))
	switch {
	case d.ProviderError != "":
		fmt.Fprintf(&b, "  %s\n", d.ProviderError)
	case d.ProviderReason != "" && d.Provider == "CPU":
		fmt.Fprintf(&b, "  running on CPU because: %s\n", d.ProviderReason)
	}
	if d.ProviderHint != "" {
		fmt.Fprintf(&b, "  hint: %s\n", d.ProviderHint)
	}
	row("Data folder", d.DataDir)
	return b.String()
}
