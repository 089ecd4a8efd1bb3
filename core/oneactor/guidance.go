package oneactor

import (
	"fmt"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/tokenizer"
)

// Offsets are a tuned subject's semantic offsets, added at its base word.
type Offsets struct {
	BaseWord string
	Tar      []float32 // Δ_tar
	Aver     []float32 // Δ_aver
}

// GuidanceConfig holds the cluster-conditioned guidance settings.
type GuidanceConfig struct {
	V    float64 // semantic scale v (default 0.8)
	Eta1 float64 // η1 (default 8.5)
	Eta2 float64 // η2 (default 1.0); 0 costs the same as plain sampling
	// GuidedFraction of the steps use the subject guidance (default 2/3);
	// the rest use plain CFG with scale η1 − η2.
	GuidedFraction float64
}

// DefaultGuidance are the paper's settings.
func DefaultGuidance() GuidanceConfig {
	return GuidanceConfig{V: 0.8, Eta1: 8.5, Eta2: 1.0, GuidedFraction: 2.0 / 3.0}
}

// guider implements diffusion.Guider for one or more subjects.
type guider struct {
	cfg               GuidanceConfig
	uncond, cond      []float32
	tarCond, averCond []float32
}

// NewGuidance returns the Request.Guidance function for the subjects: each
// subject's offsets go to every position of its base word in the prompt
// (the negative prompt's embedding is never changed).
func NewGuidance(tok *tokenizer.Tokenizer, prompt string, subjects []Offsets, cfg GuidanceConfig) func(diffusion.Embeddings) (diffusion.Guider, error) {
	return func(e diffusion.Embeddings) (diffusion.Guider, error) {
		g := &guider{cfg: cfg, uncond: e.Uncond, cond: e.Cond}
		g.tarCond = append([]float32{}, e.Cond...)
		g.averCond = append([]float32{}, e.Cond...)
		for _, s := range subjects {
			pos, err := tok.WordPositions(prompt, s.BaseWord)
			if err != nil {
				return nil, err
			}
			if len(pos) == 0 {
				return nil, fmt.Errorf("the prompt does not contain the subject's word %q", s.BaseWord)
			}
			if len(s.Tar) != e.Width || len(s.Aver) != e.Width {
				return nil, fmt.Errorf("subject %q was tuned for text width %d, this model has %d", s.BaseWord, len(s.Tar), e.Width)
			}
			for _, p := range pos {
				addRow(g.tarCond, p, e.Width, s.Tar, float32(cfg.V))
				addRow(g.averCond, p, e.Width, s.Aver, 1)
			}
		}
		return g, nil
	}
}

// addRow adds scale·v to row p of a [L, width] matrix.
func addRow(m []float32, p, width int, v []float32, scale float32) {
	row := m[p*width : (p+1)*width]
	for i := range row {
		row[i] += scale * v[i]
	}
}

func (g *guider) guided(step, steps int) bool {
	return float64(step) < g.cfg.GuidedFraction*float64(steps)
}

func (g *guider) Rows(step, steps int) [][]float32 {
	if !g.guided(step, steps) {
		return [][]float32{g.uncond, g.cond}
	}
	if g.cfg.Eta2 == 0 {
		return [][]float32{g.uncond, g.tarCond}
	}
	return [][]float32{g.uncond, g.tarCond, g.averCond}
}

// Combine: ε∅ + η1·(ε_tar − ε∅) − η2·(ε_aver − ε∅) while guided, then plain
// CFG ε∅ + (η1 − η2)·(ε − ε∅).
func (g *guider) Combine(step, steps int, preds [][]float32, out []float32) {
	e1, e2 := float32(g.cfg.Eta1), float32(g.cfg.Eta2)
	u := preds[0]
	if !g.guided(step, steps) || len(preds) == 2 {
		scale := e1
		if !g.guided(step, steps) {
			scale = e1 - e2
		}
		for i := range out {
			out[i] = u[i] + scale*(preds[1][i]-u[i])
		}
		return
	}
	for i := range out {
		out[i] = u[i] + e1*(preds[1][i]-u[i]) - e2*(preds[2][i]-u[i])
	}
}
