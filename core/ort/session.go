package ort

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ortgo "github.com/yalue/onnxruntime_go"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// Provider selects the execution provider.
type Provider string

const (
	// ProviderAuto tries CUDA and falls back to CPU, keeping the reason.
	ProviderAuto Provider = "auto"
	ProviderCUDA Provider = "cuda"
	ProviderCPU  Provider = "cpu"
)

// ParseProvider reads "auto", "cuda" or "cpu" (any case).
func ParseProvider(s string) (Provider, error) {
	switch p := Provider(strings.ToLower(strings.TrimSpace(s))); p {
	case ProviderAuto, ProviderCUDA, ProviderCPU:
		return p, nil
	case "":
		return ProviderAuto, nil
	}
	return "", fmt.Errorf("unknown provider %q: use auto, cuda or cpu", s)
}

// OptLevel is ONNX Runtime's graph optimisation level.
type OptLevel int

const (
	OptAll      OptLevel = iota // default: every optimisation
	OptExtended                 // basic + complex fusions
	OptBasic                    // constant folding, redundant node removal
	OptDisabled
)

func (l OptLevel) binding() ortgo.GraphOptimizationLevel {
	switch l {
	case OptExtended:
		return ortgo.GraphOptimizationLevelEnableExtended
	case OptBasic:
		return ortgo.GraphOptimizationLevelEnableBasic
	case OptDisabled:
		return ortgo.GraphOptimizationLevelDisableAll
	}
	return ortgo.GraphOptimizationLevelEnableAll
}

// SessionOptions configures a session. The zero value means: auto provider,
// GPU 0, ONNX Runtime's default thread count, all optimisations.
type SessionOptions struct {
	Provider       Provider
	DeviceID       int
	IntraOpThreads int // 0: ONNX Runtime decides (one per physical core)
	OptLevel       OptLevel
	// OptimizedModelPath, when set, makes ONNX Runtime write the model as it
	// runs it (after optimisation, with inferred shapes in value_info).
	OptimizedModelPath string
	// ProfilePrefix, when set, turns on ONNX Runtime's profiler: a JSON
	// trace (per-node timings) is written to "<prefix>_<date>.json" when
	// the session is closed.
	ProfilePrefix string
	// Quiet keeps ONNX Runtime from logging a failed run to stderr, for
	// sessions whose failure is an expected answer (probing whether an
	// edited graph runs); the error is still returned.
	Quiet bool
	// Spin lets the intra-op worker threads spin after a run, waiting for
	// the next one, instead of sleeping at once (ONNX Runtime's default).
	// Off by default: a program running several sessions one after another
	// (the diffusion engine: text encoder, UNet parts, VAE), each with its
	// own pool, would have one session's workers spinning on the cores the
	// next one needs. Turn it on for the session that runs back to back
	// with itself. With one thread there is no pool and this does nothing.
	Spin bool
	// Config holds extra session configuration entries
	// (onnxruntime_session_options_config_keys.h), e.g.
	// "session.optimized_model_external_initializers_file_name".
	Config map[string]string
}

// ErrCanceled is returned (wrapped with the context's error) when a context
// cancels a Run.
var ErrCanceled = errors.New("run canceled")

// ModelError reports a model that ONNX Runtime refused to load.
type ModelError struct {
	Path     string
	Provider Provider
	Err      error
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("ONNX Runtime could not load model %s on %s: %v. "+
		"Check that the file is a complete ONNX export (its external weight files beside it) "+
		"and that its opset is supported by ONNX Runtime %s", e.Path, e.Provider, e.Err, TestedVersion)
}

func (e *ModelError) Unwrap() error { return e.Err }

// Session is a loaded model ready to run. It is safe for concurrent Runs.
type Session struct {
	sess      *ortgo.DynamicAdvancedSession
	sig       onnx.Signature
	path      string
	provider  Provider
	fallback  string
	runOpts   chan *ortgo.RunOptions
	outMu     sync.Mutex
	outTensor map[string]*Tensor
	runNanos  atomic.Int64 // time spent inside ONNX Runtime's Run
	runs      atomic.Int64
}

// RunStats reports how many Runs the session made and the time spent
// inside ONNX Runtime for them (to prove the Go side adds little).
func (s *Session) RunStats() (runs int64, inside time.Duration) {
	return s.runs.Load(), time.Duration(s.runNanos.Load())
}

// NewSession loads an ONNX model file. Its input and output names and types
// are read from the file itself (core/onnx, weights untouched), then ONNX
// Runtime creates the session on the requested provider.
func (rt *Runtime) NewSession(path string, o SessionOptions) (*Session, error) {
	sig, err := onnx.ReadSignature(path)
	if err != nil {
		return nil, &ModelError{Path: path, Provider: o.Provider, Err: err}
	}
	return rt.newSession(path, nil, sig, o)
}

// NewSessionFromModel creates a session from a model held in memory. Models
// that refer to external data must be saved to a folder first (ONNX Runtime
// resolves external files relative to the model file).
func (rt *Runtime) NewSessionFromModel(m *onnx.Model, o SessionOptions) (*Session, error) {
	if files := m.ExternalFiles(); len(files) > 0 {
		return nil, fmt.Errorf("model %s refers to external data %v: save it with SaveWithExternalData and use NewSession",
			m.Proto.GetGraph().GetName(), files)
	}
	data, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	return rt.newSession("<memory:"+m.Proto.GetGraph().GetName()+">", data, m.Signature(), o)
}

func (rt *Runtime) newSession(path string, data []byte, sig onnx.Signature, o SessionOptions) (*Session, error) {
	for _, v := range append(append([]onnx.ValueInfo{}, sig.Inputs...), sig.Outputs...) {
		if v.NotTensor {
			return nil, &ModelError{Path: path, Provider: o.Provider,
				Err: fmt.Errorf("value %q is not a tensor; only tensor inputs and outputs are supported", v.Name)}
		}
	}
	provider := o.Provider
	if provider == "" {
		provider = ProviderAuto
	}
	s := &Session{sig: sig, path: path, runOpts: make(chan *ortgo.RunOptions, 8), outTensor: map[string]*Tensor{}}
	if provider == ProviderAuto || provider == ProviderCUDA {
		sess, err := rt.create(path, data, sig, o, true)
		if err == nil {
			s.sess, s.provider = sess, ProviderCUDA
			return s, nil
		}
		if provider == ProviderCUDA {
			return nil, &ModelError{Path: path, Provider: ProviderCUDA, Err: err}
		}
		s.fallback = err.Error()
	}
	sess, err := rt.create(path, data, sig, o, false)
	if err != nil {
		return nil, &ModelError{Path: path, Provider: ProviderCPU, Err: err}
	}
	s.sess, s.provider = sess, ProviderCPU
	return s, nil
}

func (rt *Runtime) create(path string, data []byte, sig onnx.Signature, o SessionOptions, cuda bool) (*ortgo.DynamicAdvancedSession, error) {
	so, err := rt.sessionOptions(o, cuda)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if data != nil {
		return ortgo.NewDynamicAdvancedSessionWithONNXData(data, sig.InputNames(), sig.OutputNames(), so)
	}
	return ortgo.NewDynamicAdvancedSession(path, sig.InputNames(), sig.OutputNames(), so)
}

func (rt *Runtime) sessionOptions(o SessionOptions, cuda bool) (*ortgo.SessionOptions, error) {
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			so.Destroy()
		}
	}()
	if err := so.SetGraphOptimizationLevel(o.OptLevel.binding()); err != nil {
		return nil, err
	}
	if o.OptimizedModelPath != "" {
		if err := so.SetOptimizedModelFilePath(o.OptimizedModelPath); err != nil {
			return nil, err
		}
	}
	if o.ProfilePrefix != "" {
		if err := so.EnableProfiling(o.ProfilePrefix); err != nil {
			return nil, err
		}
	}
	if o.Quiet {
		if err := so.SetLogSeverityLevel(ortgo.LoggingLevelFatal); err != nil {
			return nil, err
		}
	}
	if !o.Spin {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("session config session.intra_op.allow_spinning=0: %w", err)
		}
	}
	for k, v := range o.Config {
		if err := so.AddSessionConfigEntry(k, v); err != nil {
			return nil, fmt.Errorf("session config %s=%s: %w", k, v, err)
		}
	}
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return nil, err
		}
	}
	if cuda {
		co, err := ortgo.NewCUDAProviderOptions()
		if err != nil {
			return nil, err
		}
		defer co.Destroy()
		if err := co.Update(map[string]string{"device_id": strconv.Itoa(o.DeviceID)}); err != nil {
			return nil, err
		}
		if err := so.AppendExecutionProviderCUDA(co); err != nil {
			return nil, err
		}
	}
	ok = true
	return so, nil
}

// CUDAStatus says whether CUDA can be used, and if not, ONNX Runtime's exact
// reason. It is checked once per process (appending the provider loads the
// CUDA libraries).
func (rt *Runtime) CUDAStatus() (ok bool, reason string) {
	rt.cudaOnce.Do(func() {
		so, err := rt.sessionOptions(SessionOptions{}, true)
		if err != nil {
			rt.cudaReason = err.Error()
			return
		}
		so.Destroy()
	})
	return rt.cudaReason == "", rt.cudaReason
}

// Provider is the provider the session runs on (cuda or cpu).
func (s *Session) Provider() Provider { return s.provider }

// FallbackReason is ONNX Runtime's error when auto mode tried CUDA and fell
// back to CPU; "" otherwise.
func (s *Session) FallbackReason() string { return s.fallback }

// Signature is the model's interface as declared in the file.
func (s *Session) Signature() onnx.Signature { return s.sig }

// Path is the model file the session was created from.
func (s *Session) Path() string { return s.path }

// Feeds maps input or output names to tensors.
type Feeds map[string]*Tensor

// Destroy frees every tensor of f (for feeds the caller made and owns).
func (f Feeds) Destroy() {
	for _, t := range f {
		t.Destroy()
	}
}

// Output returns a session-owned tensor for the named output with the given
// shape, reused across calls while the shape stays the same. Pass it in the
// outputs of Run to avoid allocating per call. With no shape, the file's
// static shape is used.
func (s *Session) Output(name string, shape ...int64) (*Tensor, error) {
	vi, ok := s.sig.Output(name)
	if !ok {
		return nil, fmt.Errorf("model %s has no output %q (outputs: %s)", s.path, name, strings.Join(s.sig.OutputNames(), ", "))
	}
	if shape == nil {
		st, ok := vi.Static()
		if !ok {
			return nil, fmt.Errorf("output %q of %s has dynamic shape %s; give its shape", name, s.path, vi)
		}
		shape = st
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if t := s.outTensor[name]; t != nil && slices.Equal(t.shape, shape) {
		return t, nil
	}
	t, err := NewTensor(vi.Type, shape...)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	if old := s.outTensor[name]; old != nil {
		old.Destroy()
	}
	s.outTensor[name] = t
	return t, nil
}

// Run evaluates the model. Every input must be in `in`, with the element
// type the file declares. Outputs found in `out` are written in place;
// missing ones are filled with session-owned tensors (Output) when their
// shape is static in the file, so Run never lets the binding allocate
// outputs itself (its own float16 outputs are copied with the wrong size).
// A cancelled ctx stops the run between two nodes and returns an error
// wrapping ErrCanceled and ctx.Err().
func (s *Session) Run(ctx context.Context, in, out Feeds) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrCanceled, err)
	}
	inputs := make([]ortgo.Value, len(s.sig.Inputs))
	for i, vi := range s.sig.Inputs {
		t := in[vi.Name]
		if t == nil {
			return fmt.Errorf("run %s: input %q (%s) not given", s.path, vi.Name, vi)
		}
		if t.dtype != vi.Type {
			return fmt.Errorf("run %s: input %q is %s in the model, got %s", s.path, vi.Name, vi.Type, t.dtype)
		}
		if t.sync != nil {
			if err := t.sync(t, true); err != nil {
				return fmt.Errorf("run %s: input %q: %w", s.path, vi.Name, err)
			}
		}
		inputs[i] = t.value
	}
	for name := range in {
		if _, ok := s.sig.Input(name); !ok {
			return fmt.Errorf("run %s: model has no input %q (inputs: %s)", s.path, name, strings.Join(s.sig.InputNames(), ", "))
		}
	}
	outTensors := make([]*Tensor, len(s.sig.Outputs))
	outputs := make([]ortgo.Value, len(s.sig.Outputs))
	for i, vi := range s.sig.Outputs {
		t := out[vi.Name]
		if t == nil {
			if _, static := vi.Static(); !static {
				// Shape known only after the run: the binding allocates it.
				// Its copy-out is wrong for float16, so refuse that case.
				if vi.Type == onnx.Float16 || vi.Rank() == 0 {
					return fmt.Errorf("run %s: output %q (%s) has a dynamic shape; pass a preallocated tensor", s.path, vi.Name, vi)
				}
				continue
			}
			var err error
			if t, err = s.Output(vi.Name); err != nil {
				return fmt.Errorf("run %s: %w", s.path, err)
			}
			if out != nil {
				out[vi.Name] = t
			}
		}
		if t.dtype != vi.Type && vi.Type != onnx.Undefined {
			return fmt.Errorf("run %s: output %q is %s in the model, got a %s tensor", s.path, vi.Name, vi.Type, t.dtype)
		}
		outTensors[i] = t
		outputs[i] = t.value
	}

	ro, err := s.getRunOptions()
	if err != nil {
		return err
	}
	var termMu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		termMu.Lock()
		defer termMu.Unlock()
		ro.Terminate()
	})
	t0 := time.Now()
	runErr := s.sess.RunWithOptions(inputs, outputs, ro)
	s.runNanos.Add(int64(time.Since(t0)))
	s.runs.Add(1)
	if !stop() {
		// The terminate callback has started: wait for it before reusing ro.
		termMu.Lock()
		termMu.Unlock() //nolint:staticcheck // empty critical section is the wait
	}
	if ctx.Err() != nil {
		// ro may carry the terminate flag: never reuse it.
		ro.Destroy()
		return fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
	}
	s.putRunOptions(ro)
	if runErr != nil {
		return fmt.Errorf("run %s: %w", s.path, runErr)
	}
	for i, t := range outTensors {
		if t == nil {
			name := s.sig.Outputs[i].Name
			wrapped, err := wrapValue(outputs[i])
			if err != nil {
				return fmt.Errorf("run %s: output %q: %w", s.path, name, err)
			}
			if out != nil {
				out[name] = wrapped
			} else {
				wrapped.Destroy()
			}
			continue
		}
		if t.sync != nil {
			t.sync(t, false)
		}
	}
	return nil
}

func (s *Session) getRunOptions() (*ortgo.RunOptions, error) {
	select {
	case ro := <-s.runOpts:
		return ro, nil
	default:
		return ortgo.NewRunOptions()
	}
}

func (s *Session) putRunOptions(ro *ortgo.RunOptions) {
	select {
	case s.runOpts <- ro:
	default:
		ro.Destroy()
	}
}

// Close frees the session and the tensors it owns.
func (s *Session) Close() error {
	if s == nil || s.sess == nil {
		return nil
	}
	s.outMu.Lock()
	for _, t := range s.outTensor {
		t.Destroy()
	}
	s.outTensor = map[string]*Tensor{}
	s.outMu.Unlock()
	for {
		select {
		case ro := <-s.runOpts:
			ro.Destroy()
			continue
		default:
		}
		break
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
