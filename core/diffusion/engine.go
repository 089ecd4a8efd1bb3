package diffusion

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// Engine runs one model. Its ONNX Runtime sessions are created on first
// use and reused for every later image; Close frees them (switching models
// = closing one engine, opening another).
type Engine struct {
	Model *Model
	rt    *ort.Runtime
	opts  ort.SessionOptions

	mu        sync.Mutex
	sessions  map[string]*ort.Session
	tensors   map[string]*ort.Tensor
	unetFile  string   // a variant of unet/model.onnx in the same folder, "" for the original
	noFuse    bool     // leave the UNet's attentions as exported (see SetFuseAttention)
	noHoist   bool     // open the UNet as exported, prompt projections inside (see SetHoistProjections)
	noShare   bool     // compute every row of the UNet in full (see SetShareRows)
	hoist     *hoisted // the open UNet's prompt projections, when it was split
	unetNote  string   // how the UNet session was opened
	scratches map[string][]float32
}

// scratchFor returns a reused float32 buffer of length n for key.
func (e *Engine) scratchFor(key string, n int) []float32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.scratches == nil {
		e.scratches = map[string][]float32{}
	}
	b := e.scratches[key]
	if cap(b) < n {
		b = make([]float32, n)
		e.scratches[key] = b
	}
	return b[:n]
}

// scratch is where to write a tensor's float values: the tensor's own
// memory when it is float32, else a reused buffer converted by commit.
func (e *Engine) scratch(t *ort.Tensor, key string) []float32 {
	if v := t.Float32s(); v != nil {
		return v
	}
	return e.scratchFor(key, t.Len())
}

// commit stores values written into scratch(t) in t.
func (e *Engine) commit(t *ort.Tensor, v []float32) error {
	if t.Float32s() != nil {
		return nil
	}
	return t.SetFloat32(v)
}

// SessionOptions are the settings the engine opens its sessions with (the
// provider the user chose, the thread cap); work done beside sampling on
// the same model, such as OneActor tuning, opens its sessions with them too.
func (e *Engine) SessionOptions() ort.SessionOptions { return e.opts }

// StepSessionOptions are the options of a session that runs back to back
// with itself: the UNet at every sampling step (its main part when split),
// the UNet's gradient at every tuning step. Its worker threads spin between
// runs (ort.SessionOptions.Spin), which saves waking them at every
// operator; every other session's sleep at once, so that none spins on the
// cores the UNet needs, and the small sessions run between two UNet runs
// (the shared part, the projector) take one thread. On the 2-core machine with
// 2 threads (bench generate, ToyWorld, batch 1 / 4): 0.105–0.15 s /
// 0.28–0.37 s, against 0.15–0.16 s / 0.35–0.39 s with no session spinning
// and 0.23–0.27 s / 0.63–0.64 s with all of them spinning.
func (e *Engine) StepSessionOptions() ort.SessionOptions {
	o := e.opts
	o.Spin = true
	return o
}

// SideSessionOptions are the options of a small session that runs between
// two runs of a step session (the UNet's shared part, OneActor's
// projector): one thread, so that it does not contend for the cores with
// the step session's workers, still spinning from its last run.
func (e *Engine) SideSessionOptions() ort.SessionOptions {
	o := e.opts
	o.IntraOpThreads = 1
	return o
}

// SetUNetFile makes the engine run another UNet file — an edit of
// model.onnx that shares its weights, e.g. one that also outputs h — given
// as an absolute path or a name in the UNet's folder; "" restores
// model.onnx.
func (e *Engine) SetUNetFile(file string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.unetFile == file {
		return
	}
	e.closeUNetLocked()
	e.unetFile = file
}

// setUNetOption sets one of the UNet's rewrite switches (noHoist, noFuse,
// noShare) and, when it changes, closes the UNet session so that the next
// run opens it the new way.
func (e *Engine) setUNetOption(flag *bool, v bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if *flag == v {
		return
	}
	*flag = v
	e.closeUNetLocked()
}

// closeUNetLocked closes the UNet session (and its hoisted projections) so
// that the next use opens it anew. Called with e.mu held.
func (e *Engine) closeUNetLocked() {
	if s := e.sessions[e.Model.UNet.Dir]; s != nil {
		s.Close()
		delete(e.sessions, e.Model.UNet.Dir)
	}
	if e.hoist != nil {
		e.hoist.close()
		e.hoist = nil
	}
}

// hoistFor is the open UNet's split state for component dir, nil when its
// session computes the prompt projections itself.
func (e *Engine) hoistFor(dir string) *hoisted {
	e.mu.Lock()
	defer e.mu.Unlock()
	if dir != e.Model.UNet.Dir || e.unetFile != "" {
		return nil
	}
	return e.hoist
}

// NewEngine prepares an engine; no session is created yet.
func NewEngine(rt *ort.Runtime, m *Model, opts ort.SessionOptions) *Engine {
	return &Engine{Model: m, rt: rt, opts: opts, sessions: map[string]*ort.Session{}, tensors: map[string]*ort.Tensor{}}
}

// session returns the component's session, creating it once.
func (e *Engine) session(comp string) (*ort.Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.sessions[comp]; s != nil {
		return s, nil
	}
	path := filepath.Join(e.Model.Dir, comp, "model.onnx")
	if comp == e.Model.UNet.Dir && e.unetFile != "" {
		path = e.unetFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(e.Model.Dir, comp, e.unetFile)
		}
	}
	var s *ort.Session
	var err error
	if comp == e.Model.UNet.Dir && e.unetFile == "" {
		s, err = e.openUNet(path)
	} else {
		s, err = e.rt.NewSession(path, e.opts)
	}
	if err != nil {
		return nil, err
	}
	e.sessions[comp] = s
	return s, nil
}

// Provider reports where the UNet runs, and why not on CUDA if it fell back.
func (e *Engine) Provider() (ort.Provider, string, error) {
	s, err := e.session(e.Model.UNet.Dir)
	if err != nil {
		return "", "", err
	}
	return s.Provider(), s.FallbackReason(), nil
}

// tensor returns an engine-owned input tensor for key with this type and
// shape, reused while both stay the same: the sampling loop allocates
// nothing tensor-sized per step.
func (e *Engine) tensor(key string, dt onnx.DataType, shape ...int64) (*ort.Tensor, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := e.tensors[key]; t != nil && t.DType() == dt && slices.Equal(t.Shape(), shape) {
		return t, nil
	}
	if old := e.tensors[key]; old != nil {
		old.Destroy()
	}
	t, err := ort.NewTensor(dt, shape...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	e.tensors[key] = t
	return t, nil
}

// Close frees every session and tensor.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closeUNetLocked()
	for k, s := range e.sessions {
		s.Close()
		delete(e.sessions, k)
	}
	for k, t := range e.tensors {
		t.Destroy()
		delete(e.tensors, k)
	}
	return nil
}

// setTimestep writes a timestep into a tensor of the UNet's timestep type.
func setTimestep(t *ort.Tensor, ts float64) error {
	switch t.DType() {
	case onnx.Int64, onnx.Int32:
		v := make([]int64, t.Len())
		for i := range v {
			v[i] = int64(ts + 0.5)
		}
		return t.SetInt64(v)
	default:
		v := make([]float32, t.Len())
		for i := range v {
			v[i] = float32(ts)
		}
		return t.SetFloat32(v)
	}
}

// EncodeText runs the text encoder on prompts and returns the hidden
// states, [len(prompts)] × Length×Width float32 each.
func (e *Engine) EncodeText(ctx context.Context, prompts []string) ([][]float32, error) {
	m := e.Model
	s, err := e.session("text_encoder")
	if err != nil {
		return nil, err
	}
	L := int64(m.Tokenizer.MaxLength())
	ids, err := e.tensor("text.ids", m.Text.IDsType, int64(len(prompts)), L)
	if err != nil {
		return nil, err
	}
	all := make([]int64, 0, len(prompts)*int(L))
	for _, p := range prompts {
		tok, err := m.Tokenizer.Encode(p)
		if err != nil {
			return nil, fmt.Errorf("tokenize %q: %w", p, err)
		}
		for _, t := range tok {
			all = append(all, int64(t))
		}
	}
	if err := ids.SetInt64(all); err != nil {
		return nil, err
	}
	n := int64(len(prompts))
	out := ort.Feeds{}
	if m.Text.Width > 0 {
		// Preallocate every output: float16 outputs of dynamic shape cannot
		// be left to the binding.
		if out[m.Text.Hidden], err = s.Output(m.Text.Hidden, n, L, m.Text.Width); err != nil {
			return nil, err
		}
		if m.Text.Pooled != "" {
			if out[m.Text.Pooled], err = s.Output(m.Text.Pooled, n, m.Text.Width); err != nil {
				return nil, err
			}
		}
	}
	if err := s.Run(ctx, ort.Feeds{m.Text.IDs: ids}, out); err != nil {
		return nil, err
	}
	flat, err := out[m.Text.Hidden].ReadFloat32(nil)
	if err != nil {
		return nil, err
	}
	per := len(flat) / len(prompts)
	res := make([][]float32, len(prompts))
	for i := range res {
		res[i] = flat[i*per : (i+1)*per]
	}
	if m.Text.Width == 0 {
		m.Text.Width = int64(per) / L
	}
	return res, nil
}

// RunStats sums the sessions' ONNX Runtime Run counts and time.
func (e *Engine) RunStats() (runs int64, inside time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.sessions {
		r, d := s.RunStats()
		runs += r
		inside += d
	}
	if e.hoist != nil {
		r, d := e.hoist.pre.RunStats()
		runs += r
		inside += d
		if e.hoist.share != nil {
			r, d := e.hoist.share.prefix.RunStats()
			runs += r
			inside += d
		}
	}
	return runs, inside
}
