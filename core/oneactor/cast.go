package oneactor

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"path/filepath"
	"strings"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/schedule"
	"github.com/oneactor/oneactor-desktop/core/tokenizer"
)

// Casting defaults (method doc): 1 + 10 images, 30 Euler steps, CFG 7.5.
const (
	DefaultAux   = 10
	CastSteps    = 30
	CastCFG      = 7.5
	PhotoNoiseAt = 50 // training timestep an imported photo is noised to before reading its h
)

// Caster generates and reads the images a subject is made of.
type Caster struct {
	eng *diffusion.Engine
	hm  *HModel
	// LatentH, LatentW are the latent size casting works at (the model's
	// native size).
	LatentH, LatentW int64
}

// Candidate is one cast image: the picture, its seed, and its data.
type Candidate struct {
	Image  *image.RGBA
	Seed   uint64
	Sample Sample
}

// BaseWordError says a base word is not one token, with alternatives.
type BaseWordError struct {
	Word        string
	Pieces      []string
	Suggestions []string
}

func (e *BaseWordError) Error() string {
	msg := fmt.Sprintf("the base word %q is not a single token of this model's tokenizer (it splits into %s)",
		e.Word, strings.Join(e.Pieces, " + "))
	if len(e.Suggestions) > 0 {
		msg += "; try " + strings.Join(e.Suggestions, ", ")
	}
	return msg
}

// CheckBaseWord verifies the subject word is one token and occurs in the
// base prompt.
func CheckBaseWord(tok *tokenizer.Tokenizer, basePrompt, word string) error {
	if _, err := tok.WordID(word); err != nil {
		var mt *tokenizer.MultiTokenError
		if errors.As(err, &mt) {
			return &BaseWordError{Word: word, Pieces: tok.Pieces(word), Suggestions: tok.Suggest(word, 5)}
		}
		return err
	}
	pos, err := tok.WordPositions(basePrompt, word)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("the base prompt %q does not contain the base word %q", basePrompt, word)
	}
	return nil
}

// NewCaster prepares h capture for the engine's UNet (a graph edit written
// into cacheDir, sharing the UNet's weights; see BuildHModel).
func NewCaster(ctx context.Context, rt *ort.Runtime, eng *diffusion.Engine, cacheDir string) (*Caster, error) {
	m := eng.Model
	size := int64(m.DefaultSize()) / m.Factor
	in := ort.Feeds{}
	defer in.Destroy()
	mk := func(name string, dt onnx.DataType, shape ...int64) error {
		t, err := ort.NewTensor(dt, shape...)
		in[name] = t
		return err
	}
	u := m.UNet
	var ts []int64
	if u.TimestepRank == 1 {
		ts = []int64{1}
	}
	if err := errors.Join(mk(u.Sample, u.SampleType, 1, m.LatentChannels, size, size), mk(u.Timestep, u.TimestepType, ts...),
		mk(u.Context, u.ContextType, 1, int64(m.Tokenizer.MaxLength()), m.Text.Width)); err != nil {
		return nil, err
	}
	hm, err := BuildHModel(ctx, rt, filepath.Join(m.Dir, u.Dir, "model.onnx"), in, cacheDir)
	if err != nil {
		return nil, err
	}
	return &Caster{eng: eng, hm: hm, LatentH: size, LatentW: size}, nil
}

// HShape is h's C×H×W at the casting size.
func (c *Caster) HShape() []int64 { return c.hm.Shape[1:] }

// Candidates generates n images of the base prompt (seeds seed…seed+n−1)
// and keeps each one's latents and h (conditional row, last step).
func (c *Caster) Candidates(ctx context.Context, basePrompt string, seed uint64, n int, onEvent func(diffusion.Event)) ([]Candidate, error) {
	return c.CandidatesFrom(ctx, basePrompt, seed, n, nil, onEvent)
}

// CandidatesFrom is Candidates starting from the given initial noise
// (n×C×h×w, unit variance) instead of the seeds' — for reproducing another
// implementation's candidates; nil means the seeds' noise.
func (c *Caster) CandidatesFrom(ctx context.Context, basePrompt string, seed uint64, n int, noise []float32, onEvent func(diffusion.Event)) ([]Candidate, error) {
	c.eng.SetUNetFile(c.hm.File)
	defer c.eng.SetUNetFile("")
	size := int(c.LatentH * c.eng.Model.Factor)
	res, err := c.eng.Generate(ctx, diffusion.Request{Prompt: basePrompt, Steps: CastSteps, CFG: CastCFG,
		Sampler: schedule.Euler, Seed: seed, N: n, Width: size, Height: size,
		Noise: noise, Capture: &diffusion.Capture{Output: c.hm.Output, Row: 1}}, onEvent)
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, n)
	for k := range out {
		out[k] = Candidate{Image: res.Images[k], Seed: res.Seeds[k], Sample: Sample{Z0: res.Latents[k], H: res.Captured[k]}}
	}
	return out, nil
}

// FromPhoto makes a target from a picture ([3,H,W] in [-1,1] at the casting
// size): its VAE latents, and its h from one UNet pass with the base prompt
// at a small timestep.
func (c *Caster) FromPhoto(ctx context.Context, px []float32, basePrompt string) (Sample, error) {
	m := c.eng.Model
	if m.Encoder == nil {
		return Sample{}, fmt.Errorf("model %s has no VAE encoder, so it cannot read a photo", m.Name)
	}
	size := int(c.LatentH * m.Factor)
	z0, err := c.eng.EncodeImage(ctx, px, size, size)
	if err != nil {
		return Sample{}, err
	}
	c.eng.SetUNetFile(c.hm.File)
	defer c.eng.SetUNetFile("")
	h, err := c.eng.Features(ctx, z0, c.LatentH, c.LatentW, PhotoNoiseAt, basePrompt, c.hm.Output, 0)
	if err != nil {
		return Sample{}, err
	}
	return Sample{Z0: z0, H: h}, nil
}

// FromPicture makes a target from a picture of any size: scaled and
// centre-cropped to the casting size (imageio.Fill), then read as FromPhoto
// does. It also returns the fitted picture, which is what the target is.
func (c *Caster) FromPicture(ctx context.Context, img image.Image, basePrompt string) (Sample, *image.RGBA, error) {
	f := int(c.eng.Model.Factor)
	w, h := int(c.LatentW)*f, int(c.LatentH)*f
	fit, err := imageio.Fill(img, w, h)
	if err != nil {
		return Sample{}, nil, err
	}
	px := make([]float32, 3*w*h)
	for y := 0; y < h; y++ {
		row := fit.Pix[fit.PixOffset(0, y):]
		for x := 0; x < w; x++ {
			for ch := 0; ch < 3; ch++ {
				px[ch*w*h+y*w+x] = float32(row[4*x+ch])/255*2 - 1
			}
		}
	}
	sample, err := c.FromPhoto(ctx, px, basePrompt)
	if err != nil {
		return Sample{}, nil, err
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(rgba, rgba.Rect, fit, fit.Rect.Min, draw.Src)
	return sample, rgba, nil
}
