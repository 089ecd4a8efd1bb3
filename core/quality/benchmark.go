// Package quality measures what a model draws with a judge: a small
// classifier shipped with a model family that names each identity
// attribute, the scene and the body keypoints of a picture. A benchmark
// file fixes prompts, seeds and targets; the runner generates through the
// engine (and OneActor), judges every picture and reports the figures the
// PyTorch references report, so the two can be compared side by side.
package quality

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Benchmark is a benchmark file (the ToyWorld one:
// testdata/toyworld/benchmark.json).
type Benchmark struct {
	Name       string   `json:"name"`
	Resolution int      `json:"resolution"`
	BaseWord   string   `json:"base_word"`
	BasePrompt string   `json:"base_prompt"`
	Settings   Settings `json:"settings"`
	Subject    struct {
		Targets []struct {
			Identity map[string]string `json:"identity"`
		} `json:"targets"`
		ScenePrompts []struct {
			Scene    string `json:"scene"`
			Template string `json:"template"`
		} `json:"scene_prompts"`
		Seeds []uint64 `json:"seeds"`
	} `json:"subject"`
	Generation struct {
		Cases []struct {
			Prompt string            `json:"prompt"`
			Scene  string            `json:"scene"`
			Named  map[string]string `json:"named"`
			Seed   uint64            `json:"seed"`
		} `json:"cases"`
		DiversityPrompts []string `json:"diversity_prompts"`
		DiversitySeeds   []uint64 `json:"diversity_seeds"`
	} `json:"generation"`
	ControlNet struct {
		Scale float64 `json:"scale"`
		Cases []struct {
			Prompt    string       `json:"prompt"`
			Keypoints [][2]float64 `json:"keypoints_32"`
			Seed      uint64       `json:"seed"`
		} `json:"cases"`
	} `json:"controlnet"`
	Bars Bars `json:"bars"`

	dir string
}

// Settings are the sampling and OneActor settings every case uses.
type Settings struct {
	Steps    int     `json:"steps"`
	Sampler  string  `json:"sampler"`
	CFG      float64 `json:"cfg"`
	OneActor struct {
		NAux           int     `json:"n_aux"`
		TuneSteps      int     `json:"tune_steps"`
		V              float64 `json:"v"`
		Eta1           float64 `json:"eta1"`
		Eta2           float64 `json:"eta2"`
		GuidedFraction float64 `json:"guided_fraction"`
	} `json:"oneactor"`
}

// Bars are the quality bars the benchmark file sets.
type Bars struct {
	SceneFidelity      float64 `json:"scene_fidelity"`
	AttributeHonour    float64 `json:"attribute_honour"`
	DiversityMin       int     `json:"diversity_min"`
	PoseErrorMedianPct float64 `json:"pose_error_median_pct"`
	Consistency        float64 `json:"oneactor_identity_consistency"`
}

// ReadBenchmark reads a benchmark file.
func ReadBenchmark(path string) (*Benchmark, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the benchmark: %w", err)
	}
	var b Benchmark
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("benchmark %s: %w", path, err)
	}
	if b.Resolution <= 0 || b.Settings.Steps <= 0 || b.BaseWord == "" {
		return nil, fmt.Errorf("benchmark %s: resolution, settings.steps and base_word are required", path)
	}
	b.dir = filepath.Dir(path)
	return &b, nil
}

// TargetImage is the path of OneActor target i's picture, written beside
// the benchmark file by the reference tool (benchmark_targets/target_NN.png).
func (b *Benchmark) TargetImage(i int) string {
	return filepath.Join(b.dir, "benchmark_targets", fmt.Sprintf("target_%02d.png", i))
}

// NoiseBank is the reference's initial noise per seed, so Go samples from
// the very starting points PyTorch did (the engine's own RNG draws
// different ones for the same seed numbers).
type NoiseBank struct {
	per   int
	noise map[uint64][]float32
}

// ReadNoise reads benchmark_noise.json and .f32 beside the benchmark file.
// A benchmark without them returns (nil, nil): the engine's RNG is used.
func (b *Benchmark) ReadNoise() (*NoiseBank, error) {
	idx := filepath.Join(b.dir, "benchmark_noise.json")
	data, err := os.ReadFile(idx)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h struct {
		Shape []int    `json:"shape"`
		DType string   `json:"dtype"`
		Seeds []uint64 `json:"seeds"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", idx, err)
	}
	per := 1
	for _, d := range h.Shape {
		per *= d
	}
	if h.DType != "float32" || per <= 0 {
		return nil, fmt.Errorf("%s: want float32 blocks of a positive shape, got %s %v", idx, h.DType, h.Shape)
	}
	raw, err := os.ReadFile(filepath.Join(b.dir, "benchmark_noise.f32"))
	if err != nil {
		return nil, err
	}
	if len(raw) != 4*per*len(h.Seeds) {
		return nil, fmt.Errorf("benchmark_noise.f32 holds %d bytes, the index describes %d seeds × %d floats", len(raw), len(h.Seeds), per)
	}
	nb := &NoiseBank{per: per, noise: map[uint64][]float32{}}
	for i, s := range h.Seeds {
		v := make([]float32, per)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*per+j):]))
		}
		nb.noise[s] = v
	}
	return nb, nil
}

// For returns the concatenated noise of the seeds, or nil when the bank is
// nil or lacks one of them (the caller then uses the engine's RNG for all).
func (nb *NoiseBank) For(seeds ...uint64) []float32 {
	if nb == nil {
		return nil
	}
	out := make([]float32, 0, nb.per*len(seeds))
	for _, s := range seeds {
		v, ok := nb.noise[s]
		if !ok {
			return nil
		}
		out = append(out, v...)
	}
	return out
}
