package service

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/schedule"
	"github.com/oneactor/oneactor-desktop/storage"
)

// RandomSeed asks for a new random seed per job.
const RandomSeed = -1

// Recipe is the settings of a generation as the user sees them: what a
// job is asked to do, what a gallery item was made with, and what "reuse
// settings" puts back into the panel.
type Recipe struct {
	ModelRef         string // "toyworld" or a model folder; "" when unknown (a foreign file)
	ModelName        string
	ModelFingerprint string

	Prompt, Negative string
	Steps            int
	CFG              float64
	Sampler          string // A1111 display name: "Euler a", "DPM++ 2M Karras", …
	Seed             int64  // RandomSeed: pick one when the job starts
	N                int    // batch size; image k uses Seed+k
	Width, Height    int

	Control *ControlSettings
	// Subjects are the OneActor subjects drawn, each at its base word.
	Subjects []SubjectUse
}

// ControlSettings is the optional ControlNet conditioning of a job.
type ControlSettings struct {
	Kind string // ControlPose or ControlEdges
	// Pose is the OpenPose JSON of a pose conditioning.
	Pose []byte
	// Image is the picture (PNG, JPEG or WebP) whose edges condition an
	// edges job; Low and High are the Canny thresholds (OpenCV scale).
	Image     []byte
	Low, High float64
	// Scale is the ControlNet strength; Start and End the fraction of the
	// steps it acts on (End 0 means 1).
	Scale, Start, End float64
}

// DefaultRecipe is what a new panel starts with.
func DefaultRecipe() Recipe {
	return Recipe{ModelRef: BundledModel, Steps: 30, CFG: 7.5,
		Sampler: schedule.DisplayName(schedule.Euler, false), Seed: RandomSeed, N: 1}
}

// Validate checks a recipe before it is queued, with messages for people.
func (r Recipe) Validate(m ModelInfo) error {
	switch {
	case strings.TrimSpace(r.Prompt) == "":
		return fmt.Errorf("write a prompt: what should the picture show?")
	case r.Steps < 1 || r.Steps > 500:
		return fmt.Errorf("steps must be between 1 and 500 (got %d)", r.Steps)
	case r.CFG < 0 || r.CFG > 50:
		return fmt.Errorf("CFG scale must be between 0 and 50 (got %g)", r.CFG)
	case r.N < 1 || r.N > 16:
		return fmt.Errorf("batch size must be between 1 and 16 (got %d)", r.N)
	}
	if _, _, err := schedule.ParseDisplayName(r.Sampler, ""); err != nil {
		return fmt.Errorf("sampler: %w", err)
	}
	f := max(m.Factor, 1)
	if r.Width > 0 && r.Width%f != 0 || r.Height > 0 && r.Height%f != 0 {
		return fmt.Errorf("%d × %d is not a size %s can make: both sides must be multiples of %d", r.Width, r.Height, m.Name, f)
	}
	if r.Control != nil && !m.ControlNet {
		return fmt.Errorf("%s has no ControlNet, so pose and edge conditioning cannot be used", m.Name)
	}
	return nil
}

// request turns a recipe into the engine's request; the seed is resolved
// (a random one drawn) so the caller can show and store it.
func (r Recipe) request(m ModelInfo) (diffusion.Request, Recipe, error) {
	kind, karras, err := schedule.ParseDisplayName(r.Sampler, "")
	if err != nil {
		return diffusion.Request{}, r, err
	}
	if r.Seed < 0 {
		r.Seed = rand.Int64N(1 << 32)
	}
	if r.Width == 0 {
		r.Width = m.DefaultSize
	}
	if r.Height == 0 {
		r.Height = m.DefaultSize
	}
	return diffusion.Request{Prompt: r.Prompt, Negative: r.Negative, Steps: r.Steps, CFG: r.CFG,
		Sampler: kind, SamplerOptions: schedule.Options{Karras: karras}, Seed: uint64(r.Seed), N: r.N,
		Width: r.Width, Height: r.Height}, r, nil
}

// a1111 is the PNG text form of one image of the recipe.
func (r Recipe) a1111(seed int64) imageio.Recipe {
	return imageio.Recipe{Prompt: r.Prompt, NegativePrompt: r.Negative, Steps: r.Steps,
		Sampler: r.Sampler, CFGScale: r.CFG, Seed: seed, Width: r.Width, Height: r.Height,
		ModelHash: r.ModelFingerprint, Model: r.ModelName, Extra: subjectFields(r.Subjects)}
}

// stored is the library form of one image of the recipe.
func (r Recipe) stored(seed int64) storage.Recipe {
	return storage.Recipe{Model: r.ModelFingerprint, ModelName: r.ModelName, Prompt: r.Prompt,
		Negative: r.Negative, Seed: seed, Steps: r.Steps, Sampler: r.Sampler, CFG: r.CFG,
		Width: r.Width, Height: r.Height, Subjects: storedSubjects(r.Subjects)}
}

// recipeFromStored is the reverse of stored (one image, N = 1).
func recipeFromStored(s storage.Recipe) Recipe {
	r := Recipe{ModelName: s.ModelName, ModelFingerprint: s.Model, Prompt: s.Prompt, Negative: s.Negative,
		Steps: s.Steps, CFG: s.CFG, Sampler: s.Sampler, Seed: s.Seed, N: 1, Width: s.Width, Height: s.Height,
		Subjects: subjectUses(s.Subjects)}
	if s.Control != nil {
		r.Control = &ControlSettings{Kind: s.Control.Kind, Pose: s.Control.Pose, Scale: s.Control.Scale,
			Start: s.Control.Start, End: s.Control.End}
	}
	return r
}

// RecipeFromParameters reads an AUTOMATIC1111 "parameters" text (ours or
// another tool's) into a recipe. Unknown samplers are kept by name; the
// panel says when it cannot use one.
func RecipeFromParameters(text string) Recipe {
	p := imageio.ParseRecipe(text)
	r := Recipe{ModelName: p.Model, ModelFingerprint: p.ModelHash, Prompt: p.Prompt, Negative: p.NegativePrompt,
		Steps: p.Steps, CFG: p.CFGScale, Sampler: p.Sampler, Seed: p.Seed, N: 1, Width: p.Width, Height: p.Height,
		Subjects: subjectsFromFields(p)}
	if r.ModelName == BundledModel {
		r.ModelRef = BundledModel
	}
	return r
}

// Text is the recipe in the A1111 text form (for the viewer and copying),
// with a line for its conditioning, if any.
func (r Recipe) Text() string {
	s, err := r.a1111(r.Seed).Format()
	if err != nil {
		s = r.Prompt
	}
	if c := r.Control; c != nil {
		end := c.End
		if end == 0 {
			end = 1
		}
		s += fmt.Sprintf("\nConditioning: %s, strength %.2f, from %.0f%% to %.0f%% of the steps", c.Kind, c.Scale, c.Start*100, end*100)
	}
	return s
}

// Samplers are the sampler names the panel offers, A1111 spelling.
func Samplers() []string {
	var out []string
	for _, k := range schedule.Kinds {
		out = append(out, schedule.DisplayName(k, false))
		if k == schedule.DPMPP2M || k == schedule.Euler {
			out = append(out, schedule.DisplayName(k, true))
		}
	}
	return out
}
