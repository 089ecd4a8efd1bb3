package diffusion

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// Guider decides, per step, which text contexts the UNet sees for one image
// (its rows) and how their predictions combine. Classifier-free guidance is
// the default; OneActor's cluster-conditioned guidance is another.
type Guider interface {
	// Rows returns the contexts (Length×Width floats each) of the rows for
	// step i of steps. All rows of all images run in one UNet call.
	Rows(step, steps int) [][]float32
	// Combine writes the guided prediction for step i into out.
	Combine(step, steps int, preds [][]float32, out []float32)
}

// Embeddings are a prompt's encoded texts, for building a Guider.
type Embeddings struct {
	Uncond, Cond  []float32
	Length, Width int
}

// CFG is classifier-free guidance: uncond + scale·(cond − uncond).
type CFG struct {
	Uncond, Cond []float32
	Scale        float64
}

func (g *CFG) Rows(step, steps int) [][]float32 {
	if g.Scale == 1 {
		return [][]float32{g.Cond} // the uncond row would cancel out
	}
	return [][]float32{g.Uncond, g.Cond}
}

func (g *CFG) Combine(step, steps int, preds [][]float32, out []float32) {
	if len(preds) == 1 {
		copy(out, preds[0])
		return
	}
	s := float32(g.Scale)
	for i := range out {
		u := preds[0][i]
		out[i] = u + s*(preds[1][i]-u)
	}
}

// Control is a ControlNet conditioning for a generation.
type Control struct {
	// Image is the conditioning image, [3, H, W] in [0, 1], H×W = output size.
	Image []float32
	Scale float64
	// Start and End bound the fraction of steps the ControlNet acts on.
	Start, End float64
}

// InitImage is an img2img source: [3, H, W] in [-1, 1] at the output size.
type InitImage struct {
	Pixels   []float32
	Strength float64 // 0 keeps the image, 1 ignores it
}

// Request is one generation.
type Request struct {
	Prompt, Negative string
	Steps            int
	CFG              float64
	Sampler          schedule.Kind
	SamplerOptions   schedule.Options
	Seed             uint64
	N                int // images; image k uses seed Seed+k
	Width, Height    int
	Init             *InitImage
	Control          *Control
	// Guidance builds the guider from the prompt's embeddings; nil means
	// classifier-free guidance with scale CFG.
	Guidance func(Embeddings) (Guider, error)
	// PreviewEvery emits a preview image every k steps (0: none).
	PreviewEvery int
	// Noise, when set, is the initial unit-variance noise x_T of all images
	// (N×C×h×w), instead of drawing it from the seeds (tests against
	// reference implementations); ancestral noise still comes from the seeds.
	Noise []float32
	// Capture keeps an extra UNet output (see Engine.SetUNetFile) from one
	// row of each image at the last step.
	Capture *Capture
}

// Capture names an extra UNet output to keep and the guider row to take it
// from (1 = the conditional row of classifier-free guidance).
type Capture struct {
	Output string
	Row    int
}

// Event reports progress.
type Event struct {
	Step, Total int
	Elapsed     time.Duration
	ETA         time.Duration
	Preview     []*image.RGBA // one per image, only on preview steps
}

// Result is what a generation made.
type Result struct {
	Images  []*image.RGBA
	Seeds   []uint64
	Latents [][]float32 // final latents per image (as sampled, i.e. VAE-scaled)
	// Captured holds Request.Capture's output per image.
	Captured [][]float32
}

// ErrBadOutput reports a decoded image that is NaN or black: the known
// float16 VAE overflow, not a picture worth saving.
var ErrBadOutput = errors.New("the VAE produced an invalid image")

func (r *Request) validate(m *Model) error {
	switch {
	case r.Steps < 1 || r.Steps > 1000:
		return fmt.Errorf("steps %d: use 1 to 1000", r.Steps)
	case r.N < 1 || r.N > 64:
		return fmt.Errorf("batch of %d: use 1 to 64", r.N)
	case r.Width <= 0 || r.Height <= 0 || int64(r.Width)%m.Factor != 0 || int64(r.Height)%m.Factor != 0:
		return fmt.Errorf("size %d×%d: width and height must be positive multiples of %d for this model", r.Width, r.Height, m.Factor)
	case r.Init != nil && m.Encoder == nil:
		return fmt.Errorf("img2img needs a vae_encoder, and %s has none", m.Dir)
	case r.Init != nil && (r.Init.Strength <= 0 || r.Init.Strength > 1):
		return fmt.Errorf("img2img strength %g: use a value in (0, 1]", r.Init.Strength)
	case r.Control != nil && m.ControlNet == nil:
		return fmt.Errorf("model %s has no ControlNet", m.Name)
	}
	if r.Sampler == "" {
		r.Sampler = schedule.Euler
	}
	return nil
}

// Generate makes r.N images. onEvent (may be nil) is called after every
// step. A cancelled ctx stops within one UNet step and returns its error;
// nothing is returned half-made.
func (e *Engine) Generate(ctx context.Context, r Request, onEvent func(Event)) (*Result, error) {
	m := e.Model
	if err := r.validate(m); err != nil {
		return nil, err
	}
	start := time.Now()
	sched, err := schedule.New(m.Scheduler)
	if err != nil {
		return nil, err
	}
	sampler, err := sched.NewSampler(r.Sampler, r.Steps, r.SamplerOptions)
	if err != nil {
		return nil, err
	}
	emb, err := e.EncodeText(ctx, []string{r.Negative, r.Prompt})
	if err != nil {
		return nil, fmt.Errorf("text encoder: %w", err)
	}
	L := m.Tokenizer.MaxLength()
	embs := Embeddings{Uncond: emb[0], Cond: emb[1], Length: L, Width: int(m.Text.Width)}
	var guider Guider = &CFG{Uncond: embs.Uncond, Cond: embs.Cond, Scale: r.CFG}
	if r.Guidance != nil {
		if guider, err = r.Guidance(embs); err != nil {
			return nil, err
		}
	}

	seeds := make([]uint64, r.N)
	for i := range seeds {
		seeds[i] = r.Seed + uint64(i)
	}
	noise := newBatchNoise(seeds)
	C, h, w := m.LatentChannels, int64(r.Height)/m.Factor, int64(r.Width)/m.Factor
	per := int(C * h * w)
	x := make([]float32, r.N*per)
	noise.Normal(x)
	if r.Noise != nil {
		if len(r.Noise) != len(x) {
			return nil, fmt.Errorf("initial noise has %d values, want %d", len(r.Noise), len(x))
		}
		copy(x, r.Noise)
	}

	timesteps := sampler.Timesteps()
	first := 0
	if r.Init != nil {
		z0, err := e.EncodeImage(ctx, r.Init.Pixels, r.Height, r.Width)
		if err != nil {
			return nil, fmt.Errorf("vae encoder: %w", err)
		}
		first = schedule.StartStep(r.Steps, r.Init.Strength)
		all := make([]float32, 0, len(x))
		for i := 0; i < r.N; i++ {
			all = append(all, z0...)
		}
		if first < len(timesteps) {
			if err := sampler.AddNoise(x, all, x, first); err != nil {
				return nil, err
			}
		} else {
			copy(x, all)
		}
	} else {
		s := float32(sampler.InitNoiseSigma())
		for i := range x {
			x[i] *= s
		}
	}

	scaled := make([]float32, len(x))
	guided := make([]float32, len(x))
	var control []float32
	if r.Control != nil {
		control = r.Control.Image
		if len(control) != 3*r.Width*r.Height {
			return nil, fmt.Errorf("control image has %d values, want 3×%d×%d", len(control), r.Height, r.Width)
		}
	}
	total := len(timesteps) - first
	var captured [][]float32
	for i := first; i < len(timesteps); i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := sampler.ScaleModelInput(scaled, x, i); err != nil {
			return nil, err
		}
		rows := guider.Rows(i, len(timesteps))
		useControl := control != nil && inRange(i, len(timesteps), r.Control.Start, r.Control.End)
		var capture *[][]float32
		if r.Capture != nil && i == len(timesteps)-1 {
			capture = &captured
		}
		preds, err := e.unet(ctx, scaled, timesteps[i], rows, r.N, per, h, w, useControl, control, r, capture)
		if err != nil {
			return nil, err
		}
		for k := 0; k < r.N; k++ {
			imgPreds := make([][]float32, len(rows))
			for j := range rows {
				off := (k*len(rows) + j) * per
				imgPreds[j] = preds[off : off+per]
			}
			guider.Combine(i, len(timesteps), imgPreds, guided[k*per:(k+1)*per])
		}
		denoised, err := sampler.Step(i, x, guided, noise)
		if err != nil {
			return nil, err
		}
		if onEvent != nil {
			done := i - first + 1
			el := time.Since(start)
			ev := Event{Step: done, Total: total, Elapsed: el}
			ev.ETA = time.Duration(float64(el) / float64(done) * float64(total-done))
			if r.PreviewEvery > 0 && (done%r.PreviewEvery == 0 || done == total) && m.LatentRGB != nil {
				ev.Preview = e.previews(denoised, r.N, int(h), int(w))
			}
			onEvent(ev)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	imgs, err := e.Decode(ctx, x, r.N, h, w)
	if err != nil {
		return nil, err
	}
	res := &Result{Images: imgs, Seeds: seeds, Captured: captured}
	for k := 0; k < r.N; k++ {
		res.Latents = append(res.Latents, append([]float32{}, x[k*per:(k+1)*per]...))
	}
	return res, nil
}

func inRange(i, n int, start, end float64) bool {
	f := float64(i) / float64(n)
	if end <= 0 {
		end = 1
	}
	return f >= start && f < end
}

// unet runs every row of every image in one call and returns the
// predictions, image after image, row after row.
func (e *Engine) unet(ctx context.Context, scaled []float32, t float64, rows [][]float32, n, per int, h, w int64, useControl bool, control []float32, r Request, capture *[][]float32) ([]float32, error) {
	m := e.Model
	R := len(rows)
	B := int64(n * R)
	io := m.UNet
	if useControl {
		io = *m.ControlUNet
	}
	s, err := e.session(io.Dir)
	if err != nil {
		return nil, err
	}
	C := m.LatentChannels
	sample, err := e.tensor(io.Dir+".sample", io.SampleType, B, C, h, w)
	if err != nil {
		return nil, err
	}
	// Write straight into the tensor (float32) or a reused scratch buffer
	// (float16 models): no per-step allocation of latent-sized slices.
	dst := e.scratch(sample, "sample")
	for k := 0; k < n; k++ {
		for j := 0; j < R; j++ {
			copy(dst[(k*R+j)*per:], scaled[k*per:(k+1)*per])
		}
	}
	if err := e.commit(sample, dst); err != nil {
		return nil, err
	}
	var tshape []int64
	if io.TimestepRank == 1 {
		tshape = []int64{B}
	}
	ts, err := e.tensor(io.Dir+".timestep", io.TimestepType, tshape...)
	if err != nil {
		return nil, err
	}
	if err := setTimestep(ts, t); err != nil {
		return nil, err
	}
	L := int64(m.Tokenizer.MaxLength())
	ctxT, err := e.tensor(io.Dir+".context", io.ContextType, B, L, m.Text.Width)
	if err != nil {
		return nil, err
	}
	cat := e.scratch(ctxT, "context")[:0]
	for k := 0; k < n; k++ {
		for _, row := range rows {
			cat = append(cat, row...)
		}
	}
	if err := e.commit(ctxT, cat); err != nil {
		return nil, err
	}
	in := ort.Feeds{io.Sample: sample, io.Timestep: ts, io.Context: ctxT}
	if hz := e.hoistFor(io.Dir); hz != nil && !useControl {
		values, err := hz.valuesFor(ctx, ctxT, cat)
		if err != nil {
			return nil, err
		}
		hz.feed(in, values, ctxT)
		if hz.share != nil {
			if err := e.shareRows(ctx, hz.share, in, scaled, t, n, R, h, w); err != nil {
				return nil, err
			}
		}
	}
	if useControl {
		res, err := e.controlNet(ctx, sample, t, ctxT, B, control, r)
		if err != nil {
			return nil, err
		}
		for i, name := range io.Residuals {
			in[name] = res[m.ControlNet.Residuals[i]]
		}
	}
	out, err := s.Output(io.Out, B, C, h, w)
	if err != nil {
		return nil, err
	}
	outs := ort.Feeds{io.Out: out}
	if err := s.Run(ctx, in, outs); err != nil {
		return nil, err
	}
	for name, t := range outs {
		if name == io.Out {
			continue
		}
		if capture != nil && name == r.Capture.Output {
			v, err := t.ReadFloat32(nil)
			if err != nil {
				return nil, err
			}
			each := len(v) / int(B)
			for k := 0; k < n; k++ {
				row := k*R + min(r.Capture.Row, R-1)
				*capture = append(*capture, append([]float32{}, v[row*each:(row+1)*each]...))
			}
		}
		t.Destroy()
	}
	if v := out.Float32s(); v != nil {
		return v, nil // valid until the next Run: the caller combines first
	}
	return out.ReadFloat32(e.scratchFor("unet.out", out.Len()))
}

// shareRows runs the UNet's shared part on the n images' latents and feeds
// its values to the main part in place of the rows' own computation.
func (e *Engine) shareRows(ctx context.Context, rs *rowShare, in ort.Feeds, scaled []float32, t float64, n, R int, h, w int64) error {
	io := e.Model.UNet
	lat, err := e.tensor(io.Dir+".shared.sample", io.SampleType, // float32: split UNets are
		int64(n), e.Model.LatentChannels, h, w)
	if err != nil {
		return err
	}
	copy(lat.Float32s(), scaled)
	ts := in[io.Timestep]
	if io.TimestepRank == 1 {
		if ts, err = e.tensor(io.Dir+".shared.timestep", io.TimestepType, int64(n)); err != nil {
			return err
		}
		if err := setTimestep(ts, t); err != nil {
			return err
		}
	}
	return rs.feed(ctx, in, lat, ts, n, R)
}

// Decode turns latents (n images) into pictures, refusing NaN or black
// results.
func (e *Engine) Decode(ctx context.Context, latents []float32, n int, h, w int64) ([]*image.RGBA, error) {
	m := e.Model
	s, err := e.session("vae_decoder")
	if err != nil {
		return nil, err
	}
	in, err := e.tensor("vae_decoder.in", m.Decoder.InType, int64(n), m.LatentChannels, h, w)
	if err != nil {
		return nil, err
	}
	z := make([]float32, len(latents))
	inv := float32(1 / m.ScalingFactor)
	for i, v := range latents {
		z[i] = v * inv
	}
	if err := in.SetFloat32(z); err != nil {
		return nil, err
	}
	H, W := h*m.Factor, w*m.Factor
	out, err := s.Output(m.Decoder.Out, int64(n), 3, H, W)
	if err != nil {
		return nil, err
	}
	if err := s.Run(ctx, ort.Feeds{m.Decoder.In: in}, ort.Feeds{m.Decoder.Out: out}); err != nil {
		return nil, fmt.Errorf("vae decoder: %w", err)
	}
	px, err := out.ReadFloat32(nil)
	if err != nil {
		return nil, err
	}
	per := int(3 * H * W)
	imgs := make([]*image.RGBA, n)
	for k := range imgs {
		img, err := toRGBA(px[k*per:(k+1)*per], int(H), int(W))
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", k, err)
		}
		imgs[k] = img
	}
	return imgs, nil
}

// toRGBA converts CHW values in [-1, 1] to an image.
func toRGBA(px []float32, h, w int) (*image.RGBA, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	bright := false
	for i := 0; i < plane; i++ {
		for c := 0; c < 3; c++ {
			v := float64(px[c*plane+i])
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: NaN values (a float16 VAE overflowing? use a float32 VAE)", ErrBadOutput)
			}
			b := uint8(math.Round(math.Max(0, math.Min(1, (v+1)/2)) * 255))
			if b > 2 {
				bright = true
			}
			img.Pix[i*4+c] = b
		}
		img.Pix[i*4+3] = 255
	}
	if !bright {
		return nil, fmt.Errorf("%w: the image is completely black (a float16 VAE overflowing? use a float32 VAE)", ErrBadOutput)
	}
	return img, nil
}

// EncodeImage runs the VAE encoder on one image ([3,H,W] in [-1,1]) and
// returns scaled latents: the mean of latent_parameters, or the encoder's
// own sample.
func (e *Engine) EncodeImage(ctx context.Context, px []float32, H, W int) ([]float32, error) {
	m := e.Model
	enc := m.Encoder
	if len(px) != 3*H*W {
		return nil, fmt.Errorf("init image has %d values, want 3×%d×%d", len(px), H, W)
	}
	s, err := e.session("vae_encoder")
	if err != nil {
		return nil, err
	}
	in, err := e.tensor("vae_encoder.in", enc.InType, 1, 3, int64(H), int64(W))
	if err != nil {
		return nil, err
	}
	if err := in.SetFloat32(px); err != nil {
		return nil, err
	}
	C := m.LatentChannels
	outC := C
	if enc.Parameters {
		outC = 2 * C
	}
	h, w := int64(H)/m.Factor, int64(W)/m.Factor
	out, err := s.Output(enc.Out, 1, outC, h, w)
	if err != nil {
		return nil, err
	}
	if err := s.Run(ctx, ort.Feeds{enc.In: in}, ort.Feeds{enc.Out: out}); err != nil {
		return nil, err
	}
	v, err := out.ReadFloat32(nil)
	if err != nil {
		return nil, err
	}
	n := int(C * h * w)
	z := make([]float32, n)
	sf := float32(m.ScalingFactor)
	for i := range z {
		z[i] = v[i] * sf // mean: the first C channels
	}
	return z, nil
}

// controlNet runs the ControlNet on the same rows and returns its residuals.
func (e *Engine) controlNet(ctx context.Context, sample *ort.Tensor, t float64, ctxT *ort.Tensor, B int64, control []float32, r Request) (ort.Feeds, error) {
	m := e.Model
	cn := m.ControlNet
	s, err := e.session(cn.Dir)
	if err != nil {
		return nil, err
	}
	var tshape []int64
	if cn.TimestepRank == 1 {
		tshape = []int64{B}
	}
	ts, err := e.tensor(cn.Dir+".timestep", cn.TimestepType, tshape...)
	if err != nil {
		return nil, err
	}
	if err := setTimestep(ts, t); err != nil {
		return nil, err
	}
	H, W := int64(r.Height), int64(r.Width)
	cond, err := e.tensor(cn.Dir+".cond", cn.SampleType, B, 3, H, W)
	if err != nil {
		return nil, err
	}
	rep := make([]float32, 0, int(B)*len(control))
	for i := int64(0); i < B; i++ {
		rep = append(rep, control...)
	}
	if err := cond.SetFloat32(rep); err != nil {
		return nil, err
	}
	in := ort.Feeds{cn.Sample: sample, cn.Timestep: ts, cn.Context: ctxT, cn.Cond: cond}
	if cn.Scale != "" {
		var sshape []int64
		if cn.ScaleRank == 1 {
			sshape = []int64{1}
		}
		sc, err := e.tensor(cn.Dir+".scale", cn.ScaleType, sshape...)
		if err != nil {
			return nil, err
		}
		v := make([]float32, sc.Len())
		for i := range v {
			v[i] = float32(r.Control.Scale)
		}
		if err := sc.SetFloat32(v); err != nil {
			return nil, err
		}
		in[cn.Scale] = sc
	}
	out := ort.Feeds{}
	if err := s.Run(ctx, in, out); err != nil {
		return nil, fmt.Errorf("controlnet: %w", err)
	}
	return out, nil
}

// Features runs the UNet once on clean latents z0 (C×h×w, as sampled)
// noised to training timestep t with noise from seed, conditioned on prompt
// alone (one row), and returns the extra output capture (see SetUNetFile):
// how OneActor reads h for an imported photo.
func (e *Engine) Features(ctx context.Context, z0 []float32, h, w int64, t int, prompt string, capture string, seed uint64) ([]float32, error) {
	m := e.Model
	sched, err := schedule.New(m.Scheduler)
	if err != nil {
		return nil, err
	}
	emb, err := e.EncodeText(ctx, []string{prompt})
	if err != nil {
		return nil, err
	}
	eps := make([]float32, len(z0))
	NewRNG(seed).Normal(eps)
	zt := make([]float32, len(z0))
	if err := sched.AddNoise(zt, z0, eps, t); err != nil {
		return nil, err
	}
	var got [][]float32
	r := Request{Capture: &Capture{Output: capture, Row: 0}}
	if _, err := e.unet(ctx, zt, float64(t), [][]float32{emb[0]}, 1, len(z0), h, w, false, nil, r, &got); err != nil {
		return nil, err
	}
	if len(got) != 1 {
		return nil, fmt.Errorf("the UNet did not output %q (call SetUNetFile with the h model first)", capture)
	}
	return got[0], nil
}
