package oneactor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/autodiff"
	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// Sample is one image of a subject's cluster: its clean latents (as
// sampled, VAE-scaled) and its h.
type Sample struct {
	Z0 []float32
	H  []float32
}

// SubjectData is what tuning learns from.
type SubjectData struct {
	BaseWord string
	Target   Sample
	Aux      []Sample
}

// TuneConfig holds the tuning settings (method doc defaults in DefaultTune).
type TuneConfig struct {
	Steps       int
	LR          float64
	Beta1       float64
	Beta2       float64
	WeightDecay float64
	Lambda1     float64 // auxiliary rows
	Lambda2     float64 // average row
	Flip        bool    // horizontal flips with p = 0.5
	// LowMemory runs the five rows one UNet call at a time: a fifth of the
	// retained activations (what lets large UNets tune on small GPUs), at
	// some speed cost. Otherwise rows are batched whenever the UNet takes a
	// per-row timestep (or can be made to; see batchTimestep).
	LowMemory bool
	Seed      uint64
	// Templates are the caption templates ({} = base word); nil means
	// DefaultTemplates.
	Templates []string
}

// MaxBatchedLatent is the largest latent (h·w positions) whose five tuning
// rows run in one UNet call. Activations kept for the backward pass grow
// with the rows and faster than the area (attention is quadratic): the
// compiled gradient of an SD 1.5 UNet at 512² (64×64 latent) holds about
// 5 GB per row besides 3.4 GB of weights (autodiff.EstimateMemory), so five
// rows at once would need ~28 GB while one at a time fits a 12 GB GPU.
const MaxBatchedLatent = 32 * 32

// DefaultTune returns the method doc's settings.
func DefaultTune() TuneConfig {
	return TuneConfig{Steps: 200, LR: 1e-4, Beta1: 0.9, Beta2: 0.999, WeightDecay: 1e-2,
		Lambda1: 0.5, Lambda2: 0.2, Flip: true, Seed: 1, Templates: DefaultTemplates}
}

// Tuner trains a subject's projector on ONNX Runtime: the UNet's gradient
// with respect to its text input comes from a compiled gradient model run
// one row at a time (any timestep layout, low memory); the chain rule to
// the projector is taken in Go; the projector's own backward is a second
// compiled gradient model; AdamW runs in Go.
type Tuner struct {
	eng   *diffusion.Engine
	sched *schedule.Schedule
	cfg   TuneConfig
	rng   *rand.Rand
	noise *diffusion.RNG

	C, h, w  int64 // latent shape
	L, D     int64 // text shape
	hShape   ProjectorShape
	unetGrad *ort.Session
	unetRes  *autodiff.Built
	batched  bool // all five rows in one UNet call
	// RowByRow says why the rows run one per UNet call ("" when batched).
	RowByRow string
	captions map[string][]float32 // text encoder outputs per caption
	proj     *Projector           // batch 4: target + three auxiliaries
	projFwd  *ort.Session
	projGrad *ort.Session
	projRes  *autodiff.Result

	params map[string]*ort.Tensor
	adamM  map[string][]float32
	adamV  map[string][]float32
	step   int
	in     ort.Feeds // reused UNet-row inputs
}

// NewTuner compiles the gradient models for the engine's UNet at one row of
// the given latent size and a projector for h of hShape (C×H×W), and
// initialises the projector (Xavier-uniform, seeded).
func NewTuner(ctx context.Context, rt *ort.Runtime, eng *diffusion.Engine, latentH, latentW int64, hChw []int64, cfg TuneConfig, cacheDir string) (*Tuner, error) {
	m := eng.Model
	if cfg.Steps <= 0 {
		return nil, errors.New("tuning needs at least one step")
	}
	if len(cfg.Templates) == 0 {
		cfg.Templates = DefaultTemplates
	}
	sched, err := schedule.New(m.Scheduler)
	if err != nil {
		return nil, err
	}
	t := &Tuner{eng: eng, sched: sched, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7a11)), noise: diffusion.NewRNG(cfg.Seed ^ 0x5eed),
		C: m.LatentChannels, h: latentH, w: latentW, L: int64(m.Tokenizer.MaxLength()), D: m.Text.Width,
		params: map[string]*ort.Tensor{}, adamM: map[string][]float32{}, adamV: map[string][]float32{}, in: ort.Feeds{}}
	if len(hChw) != 3 {
		return nil, fmt.Errorf("h must be C×H×W, got %v", hChw)
	}
	t.hShape = ProjectorShape{C: hChw[0], H: hChw[1], W: hChw[2], D: t.D}
	ok := false
	defer func() {
		if !ok {
			t.Close()
		}
	}()

	// The UNet's gradient model: d Σ w_r·mean_r((ε̂ − target)²) / d text.
	// All five rows run together when the timestep input has a batch axis
	// (or can be given one) and the latent is small enough; otherwise one
	// row per call.
	u := m.UNet
	unetPath := filepath.Join(m.Dir, u.Dir, "model.onnx")
	tsAxis := u.TimestepRank == 1 // the timestep input has a batch axis
	big := latentH*latentW > MaxBatchedLatent
	t.batched = tsAxis && !cfg.LowMemory && !big
	switch {
	case cfg.LowMemory:
		t.RowByRow = "the low-memory setting runs one row per call"
	case big:
		t.RowByRow = fmt.Sprintf("a %d×%d latent: five rows at once would keep five times the activations (SD 1.5 at 512²: about 28 GB instead of 8.4 GB)", latentH, latentW)
	case !t.batched:
		// A scalar timestep: try a per-row one (verified against one-row
		// runs), else keep one row per call.
		if p, err := batchTimestep(ctx, rt, m, [2]int64{latentH, latentW}, cacheDir); err == nil {
			unetPath, t.batched, tsAxis = p, true, true
		} else {
			t.RowByRow = err.Error()
		}
	}
	rows := int64(1)
	if t.batched {
		rows = 5
	}
	sample, err := ort.NewTensor(onnx.Float, rows, t.C, t.h, t.w)
	if err != nil {
		return nil, err
	}
	t.in[u.Sample] = sample
	var tsShape []int64
	if tsAxis {
		tsShape = []int64{rows}
	}
	tsType := u.TimestepType
	if tsType == onnx.Float16 {
		tsType = onnx.Float
	}
	if t.in[u.Timestep], err = ort.NewTensor(tsType, tsShape...); err != nil {
		return nil, err
	}
	if t.in[u.Context], err = ort.NewTensor(onnx.Float, rows, t.L, t.D); err != nil {
		return nil, err
	}
	float32Build := u.SampleType == onnx.Float16 || u.ContextType == onnx.Float16 || u.OutType == onnx.Float16
	t.unetRes, err = autodiff.Build(ctx, rt, unetPath, t.in, autodiff.Options{
		Wrt: []string{u.Context}, Output: u.Out, Loss: autodiff.LossMSE, RowWeights: t.batched, Float32: float32Build}, cacheDir)
	if err != nil {
		return nil, fmt.Errorf("compile the UNet's gradient: %w", err)
	}
	if t.in[t.unetRes.Target], err = ort.NewTensor(onnx.Float, rows, t.C, t.h, t.w); err != nil {
		return nil, err
	}
	if t.batched {
		if t.in[t.unetRes.Weights], err = ort.NewTensor(onnx.Float, rows); err != nil {
			return nil, err
		}
	}
	if t.unetGrad, err = rt.NewSession(t.unetRes.Path, eng.StepSessionOptions()); err != nil {
		return nil, err
	}

	// The projector, batch 4, forward and backward.
	if t.proj, err = BuildProjector(t.hShape, 4); err != nil {
		return nil, err
	}
	init := InitParams(t.proj.Params, rand.New(rand.NewPCG(cfg.Seed, 0x1417)))
	pin := ort.Feeds{}
	var wrt []string
	for _, p := range t.proj.Params {
		x, err := ort.NewTensor(onnx.Float, p.Dims...)
		if err != nil {
			return nil, err
		}
		x.SetFloat32(init[p.Name])
		t.params[p.Name] = x
		t.adamM[p.Name] = make([]float32, x.Len())
		t.adamV[p.Name] = make([]float32, x.Len())
		pin[p.Name] = x
		wrt = append(wrt, p.Name)
	}
	hIn, err := ort.NewTensor(onnx.Float, 4, t.hShape.C, t.hShape.H, t.hShape.W)
	if err != nil {
		return nil, err
	}
	pin[t.proj.Input] = hIn
	t.in["proj.h"] = hIn
	sh, err := autodiff.Probe(ctx, rt, t.proj.Model, pin)
	if err != nil {
		return nil, err
	}
	if t.projRes, err = autodiff.Compile(t.proj.Model, sh, autodiff.Options{Wrt: wrt, Output: t.proj.Output, Loss: autodiff.LossUpstream, KeepOutputs: true}); err != nil {
		return nil, err
	}
	// The projector is small and runs between two UNet-gradient runs.
	popts := eng.SideSessionOptions()
	if t.projGrad, err = rt.NewSessionFromModel(t.projRes.Model, popts); err != nil {
		return nil, err
	}
	if t.projFwd, err = rt.NewSessionFromModel(t.proj.Model, popts); err != nil {
		return nil, err
	}
	if t.in["proj.up"], err = ort.NewTensor(onnx.Float, 4, t.D); err != nil {
		return nil, err
	}
	ok = true
	return t, nil
}

// batch is one step's random draw.
type batch struct {
	rows   [5]int       // sample index per row: 0 = target, 1.. = aux; row 5 = target
	flips  [5]bool      // rows 1 and 5 share the target's flip
	ts     [5]int       // timesteps
	prompt [5]string    // captions
	eps    [4][]float32 // noise of rows 1..4; row 5 reuses row 1's
}

func (t *Tuner) draw(nAux int) batch {
	var b batch
	b.rows[0], b.rows[4] = 0, 0
	for r := 1; r <= 3; r++ {
		b.rows[r] = 1 + t.rng.IntN(nAux)
	}
	for r := 0; r < 4; r++ {
		b.flips[r] = t.cfg.Flip && t.rng.IntN(2) == 1
	}
	b.flips[4] = b.flips[0]
	n := t.sched.NumTrainTimesteps()
	for r := range b.ts {
		b.ts[r] = t.rng.IntN(n)
	}
	for r := range b.prompt {
		b.prompt[r] = t.cfg.Templates[t.rng.IntN(len(t.cfg.Templates))]
	}
	per := int(t.C * t.h * t.w)
	for r := range b.eps {
		b.eps[r] = make([]float32, per)
		t.noise.Normal(b.eps[r])
	}
	return b
}

// Step runs one tuning step and returns its loss.
func (t *Tuner) Step(ctx context.Context, s *SubjectData) (float64, error) {
	if len(s.Aux) == 0 {
		return 0, errors.New("tuning needs at least one auxiliary image")
	}
	b := t.draw(len(s.Aux))
	loss, grads, err := t.lossAndGrad(ctx, s, b)
	if err != nil {
		return 0, err
	}
	t.adamW(grads)
	return loss, nil
}

func (t *Tuner) sample(s *SubjectData, i int) Sample {
	if i == 0 {
		return s.Target
	}
	return s.Aux[i-1]
}

// lossAndGrad computes the 5-row objective and its gradient with respect
// to every projector weight.
func (t *Tuner) lossAndGrad(ctx context.Context, s *SubjectData, b batch) (float64, map[string][]float32, error) {
	D := int(t.D)
	// Projector forward on rows 1..4 (target + 3 auxiliaries).
	hs := make([]float32, 0, 4*int(t.hShape.C*t.hShape.H*t.hShape.W))
	for r := 0; r < 4; r++ {
		hs = append(hs, t.maybeFlip(t.sample(s, b.rows[r]).H, b.flips[r], t.hShape.H, t.hShape.W, t.hShape.C)...)
	}
	if err := t.in["proj.h"].SetFloat32(hs); err != nil {
		return 0, nil, err
	}
	up := t.in["proj.up"]
	for i := range up.Float32s() {
		up.Float32s()[i] = 0
	}
	pin := ort.Feeds{t.proj.Input: t.in["proj.h"], t.projRes.Upstream: up}
	for k, v := range t.params {
		pin[k] = v
	}
	fin := ort.Feeds{t.proj.Input: t.in["proj.h"]}
	for k, v := range t.params {
		fin[k] = v
	}
	fout := ort.Feeds{}
	if err := t.projFwd.Run(ctx, fin, fout); err != nil {
		return 0, nil, err
	}
	delta := append([]float32{}, fout[t.proj.Output].Float32s()...) // [4, D]
	aver := make([]float32, D)
	for r := 1; r <= 3; r++ {
		for i := 0; i < D; i++ {
			aver[i] += delta[r*D+i] / 3
		}
	}

	weights := [5]float64{1, t.cfg.Lambda1 / 3, t.cfg.Lambda1 / 3, t.cfg.Lambda1 / 3, t.cfg.Lambda2}
	var rows [5]rowInput
	for r := 0; r < 5; r++ {
		off := aver
		if r < 4 {
			off = delta[r*D : (r+1)*D]
		}
		eps := b.eps[min(r, 3)]
		if r == 4 {
			eps = b.eps[0]
		}
		rows[r] = rowInput{z0: t.maybeFlip(t.sample(s, b.rows[r]).Z0, b.flips[r], t.h, t.w, t.C), eps: eps,
			t: b.ts[r], template: b.prompt[r], word: s.BaseWord, off: off}
	}
	total, dOff, err := t.rowsLossGrad(ctx, rows, weights)
	if err != nil {
		return 0, nil, err
	}
	dDelta := make([]float32, 4*D)
	for r := 0; r < 5; r++ {
		if r < 4 {
			for i := 0; i < D; i++ {
				dDelta[r*D+i] += dOff[r][i]
			}
		} else { // Δ_aver = mean of the three auxiliaries' offsets
			for a := 1; a <= 3; a++ {
				for i := 0; i < D; i++ {
					dDelta[a*D+i] += dOff[r][i] / 3
				}
			}
		}
	}
	// Projector backward with the upstream gradient dL/dΔ.
	if err := up.SetFloat32(dDelta); err != nil {
		return 0, nil, err
	}
	pout := ort.Feeds{}
	if err := t.projGrad.Run(ctx, pin, pout); err != nil {
		return 0, nil, err
	}
	grads := map[string][]float32{}
	for k := range t.params {
		grads[k] = append([]float32{}, pout[t.projRes.Grads[k]].Float32s()...)
	}
	return total, grads, nil
}

// caption returns a copy of the text encoder's output for prompt; the few
// caption templates are encoded once each.
func (t *Tuner) caption(ctx context.Context, prompt string) ([]float32, error) {
	if t.captions == nil {
		t.captions = map[string][]float32{}
	}
	e, ok := t.captions[prompt]
	if !ok {
		emb, err := t.eng.EncodeText(ctx, []string{prompt})
		if err != nil {
			return nil, err
		}
		e = append([]float32{}, emb[0]...)
		t.captions[prompt] = e
	}
	return append([]float32{}, e...), nil
}

// rowInput is one row of the objective.
type rowInput struct {
	z0, eps        []float32
	t              int
	template, word string
	off            []float32
}

// rowsLossGrad returns Σ_r w_r·MSE_r and, per row, w_r·dMSE_r/dΔ_r (the
// gradient at the base word's positions). All rows run in one UNet call
// when the timestep input has a batch axis; otherwise one row at a time.
func (t *Tuner) rowsLossGrad(ctx context.Context, rows [5]rowInput, w [5]float64) (float64, [5][]float32, error) {
	var dOff [5][]float32
	m := t.eng.Model
	u := m.UNet
	D := int(t.D)
	per := int(t.C * t.h * t.w)
	var zt, target, ctxs []float32
	positions := make([][]int, 5)
	for r, row := range rows {
		prompt := strings.ReplaceAll(row.template, "{}", row.word)
		pos, err := m.Tokenizer.WordPositions(prompt, row.word)
		if err != nil {
			return 0, dOff, err
		}
		if len(pos) == 0 {
			return 0, dOff, fmt.Errorf("template %q lost the base word", row.template)
		}
		positions[r] = pos
		c, err := t.caption(ctx, prompt)
		if err != nil {
			return 0, dOff, err
		}
		for _, p := range pos {
			addRow(c, p, D, row.off, 1)
		}
		z := make([]float32, per)
		if err := t.sched.AddNoise(z, row.z0, row.eps, row.t); err != nil {
			return 0, dOff, err
		}
		tg := make([]float32, per)
		if err := t.sched.Target(tg, row.z0, row.eps, row.t); err != nil {
			return 0, dOff, err
		}
		zt, target, ctxs = append(zt, z...), append(target, tg...), append(ctxs, c...)
	}
	gather := func(r int, g []float32, scale float32) []float32 {
		d := make([]float32, D)
		for _, p := range positions[r] {
			for i := 0; i < D; i++ {
				d[i] += scale * g[p*D+i]
			}
		}
		return d
	}
	if t.batched {
		ts := make([]int64, 5)
		weights := make([]float32, 5)
		for r, row := range rows {
			ts[r], weights[r] = int64(row.t), float32(w[r])
		}
		t.in[u.Sample].SetFloat32(zt)
		t.in[u.Context].SetFloat32(ctxs)
		t.in[t.unetRes.Target].SetFloat32(target)
		t.in[t.unetRes.Weights].SetFloat32(weights)
		setTimesteps(t.in[u.Timestep], ts)
		in := ort.Feeds{u.Sample: t.in[u.Sample], u.Timestep: t.in[u.Timestep], u.Context: t.in[u.Context],
			t.unetRes.Target: t.in[t.unetRes.Target], t.unetRes.Weights: t.in[t.unetRes.Weights]}
		out := ort.Feeds{}
		if err := t.unetGrad.Run(ctx, in, out); err != nil {
			return 0, dOff, err
		}
		g := out[t.unetRes.Grads[u.Context]].Float32s()
		L := int(t.L)
		for r := range rows {
			dOff[r] = gather(r, g[r*L*D:(r+1)*L*D], 1) // already weighted by the loss
		}
		return float64(out[t.unetRes.Loss].Float32s()[0]), dOff, nil
	}
	total := 0.0
	for r, row := range rows {
		t.in[u.Sample].SetFloat32(zt[r*per : (r+1)*per])
		t.in[u.Context].SetFloat32(ctxs[r*int(t.L)*D : (r+1)*int(t.L)*D])
		t.in[t.unetRes.Target].SetFloat32(target[r*per : (r+1)*per])
		setTimesteps(t.in[u.Timestep], []int64{int64(row.t)})
		in := ort.Feeds{u.Sample: t.in[u.Sample], u.Timestep: t.in[u.Timestep], u.Context: t.in[u.Context], t.unetRes.Target: t.in[t.unetRes.Target]}
		out := ort.Feeds{}
		if err := t.unetGrad.Run(ctx, in, out); err != nil {
			return 0, dOff, err
		}
		total += w[r] * float64(out[t.unetRes.Loss].Float32s()[0])
		dOff[r] = gather(r, out[t.unetRes.Grads[u.Context]].Float32s(), float32(w[r]))
	}
	return total, dOff, nil
}

// maybeFlip mirrors a C×H×W map left to right.
func (t *Tuner) maybeFlip(x []float32, flip bool, h, w, c int64) []float32 {
	if !flip {
		return x
	}
	out := make([]float32, len(x))
	for ch := int64(0); ch < c; ch++ {
		for y := int64(0); y < h; y++ {
			row := (ch*h + y) * w
			for xx := int64(0); xx < w; xx++ {
				out[row+xx] = x[row+w-1-xx]
			}
		}
	}
	return out
}

// adamW applies one AdamW update (torch's: decoupled weight decay, bias
// correction, ε = 1e-8).
func (t *Tuner) adamW(grads map[string][]float32) {
	t.step++
	c := t.cfg
	bc1 := 1 - math.Pow(c.Beta1, float64(t.step))
	bc2 := 1 - math.Pow(c.Beta2, float64(t.step))
	for name, p := range t.params {
		w, g := p.Float32s(), grads[name]
		m, v := t.adamM[name], t.adamV[name]
		for i := range w {
			w[i] *= float32(1 - c.LR*c.WeightDecay)
			m[i] = float32(c.Beta1)*m[i] + float32(1-c.Beta1)*g[i]
			v[i] = float32(c.Beta2)*v[i] + float32(1-c.Beta2)*g[i]*g[i]
			mh := float64(m[i]) / bc1
			vh := float64(v[i]) / bc2
			w[i] -= float32(c.LR * mh / (math.Sqrt(vh) + 1e-8))
		}
	}
}

// Params returns a copy of the projector weights.
func (t *Tuner) Params() map[string][]float32 {
	out := map[string][]float32{}
	for k, v := range t.params {
		out[k] = append([]float32{}, v.Float32s()...)
	}
	return out
}

// Offsets runs the projector once on the target and every auxiliary (batch
// statistics over the whole set, as the reference does) and returns Δ_tar
// and the mean of the auxiliaries' offsets, Δ_aver.
func (t *Tuner) Offsets(ctx context.Context, rt *ort.Runtime, s *SubjectData) (tar, aver []float32, err error) {
	n := int64(1 + len(s.Aux))
	p, err := BuildProjector(t.hShape, n)
	if err != nil {
		return nil, nil, err
	}
	sess, err := rt.NewSessionFromModel(p.Model, t.eng.SessionOptions())
	if err != nil {
		return nil, nil, err
	}
	defer sess.Close()
	hIn, err := ort.NewTensor(onnx.Float, n, t.hShape.C, t.hShape.H, t.hShape.W)
	if err != nil {
		return nil, nil, err
	}
	defer hIn.Destroy()
	hs := append([]float32{}, s.Target.H...)
	for _, a := range s.Aux {
		hs = append(hs, a.H...)
	}
	if err := hIn.SetFloat32(hs); err != nil {
		return nil, nil, err
	}
	in := ort.Feeds{p.Input: hIn}
	for k, v := range t.params {
		in[k] = v
	}
	out := ort.Feeds{}
	if err := sess.Run(ctx, in, out); err != nil {
		return nil, nil, err
	}
	d := out[p.Output].Float32s()
	D := int(t.D)
	tar = append([]float32{}, d[:D]...)
	aver = make([]float32, D)
	for k := 1; k < int(n); k++ {
		for i := 0; i < D; i++ {
			aver[i] += d[k*D+i] / float32(n-1)
		}
	}
	return tar, aver, nil
}

// Progress reports tuning progress.
type Progress struct {
	Step, Total int
	Loss        float64
	Elapsed     time.Duration
	ETA         time.Duration
}

// Run tunes for cfg.Steps steps, reporting each, and returns the loss curve.
func (t *Tuner) Run(ctx context.Context, s *SubjectData, onStep func(Progress)) ([]float64, error) {
	start := time.Now()
	var curve []float64
	for i := 0; i < t.cfg.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return curve, err
		}
		loss, err := t.Step(ctx, s)
		if err != nil {
			return curve, err
		}
		curve = append(curve, loss)
		if onStep != nil {
			el := time.Since(start)
			onStep(Progress{Step: i + 1, Total: t.cfg.Steps, Loss: loss, Elapsed: el,
				ETA: time.Duration(float64(el) / float64(i+1) * float64(t.cfg.Steps-i-1))})
		}
	}
	return curve, nil
}

// Close frees the tuner's sessions and tensors.
func (t *Tuner) Close() {
	for _, s := range []*ort.Session{t.unetGrad, t.projFwd, t.projGrad} {
		if s != nil {
			s.Close()
		}
	}
	t.in.Destroy()
	for _, x := range t.params {
		x.Destroy()
	}
}

// Projector is the trained network's description (its weights: Params).
func (t *Tuner) Projector() *Projector { return t.proj }

// setTimesteps writes integer timesteps into a timestep input of an
// integer or float32 type (a float16 UNet's gradient model is widened to
// float32, timestep included).
func setTimesteps(t *ort.Tensor, ts []int64) {
	switch t.DType() {
	case onnx.Int64, onnx.Int32:
		t.SetInt64(ts)
	default:
		f := make([]float32, len(ts))
		for i, v := range ts {
			f[i] = float32(v)
		}
		t.SetFloat32(f)
	}
}
