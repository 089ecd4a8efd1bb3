// Package golden reads the ToyWorld golden vectors written by
// tools/toyworld/goldens.py (testdata/toyworld/golden): manifest.json names
// each tensor's file, dtype and shape; NAME.bin holds raw little-endian
// values in C order.
package golden

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Dir is the golden folder relative to the repository root.
const Dir = "testdata/toyworld/golden"

// Set is a loaded manifest.
type Set struct {
	dir     string
	Tensors map[string]struct {
		File  string  `json:"file"`
		Dtype string  `json:"dtype"`
		Shape []int64 `json:"shape"`
	} `json:"tensors"`
	Cases []Case `json:"cases"`
	Extra map[string]any
}

// Case is one golden case; Inputs and Outputs map roles to tensor names.
type Case struct {
	Model     string            `json:"model"`
	Kind      string            `json:"kind"`
	Timestep  float64           `json:"timestep"`
	Inputs    map[string]string `json:"inputs"`
	Outputs   map[string]string `json:"outputs"`
	Prompt    string            `json:"prompt"`
	Prompts   []string          `json:"prompts"`
	Negative  string            `json:"negative_prompt"`
	Scheduler string            `json:"scheduler"`
	Karras    bool              `json:"karras"`
	Steps     int               `json:"steps"`
	CFG       float64           `json:"cfg"`
	PerRowT   bool              `json:"per_row_timesteps"`
	Scale     float64           `json:"conditioning_scale"`
}

// Load reads the manifest under repoRoot.
func Load(repoRoot string) (*Set, error) {
	dir := filepath.Join(repoRoot, Dir)
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("golden vectors: %w (run tools/toyworld/goldens.py models)", err)
	}
	s := &Set{dir: dir}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("golden manifest: %w", err)
	}
	json.Unmarshal(data, &s.Extra)
	return s, nil
}

// Shape returns a tensor's shape.
func (s *Set) Shape(name string) []int64 { return s.Tensors[name].Shape }

// Float32 reads a float32 tensor.
func (s *Set) Float32(name string) ([]float32, []int64, error) {
	t, ok := s.Tensors[name]
	if !ok {
		return nil, nil, fmt.Errorf("no golden tensor %q", name)
	}
	raw, err := os.ReadFile(filepath.Join(s.dir, t.File))
	if err != nil {
		return nil, nil, err
	}
	switch t.Dtype {
	case "float32":
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, t.Shape, nil
	case "int64":
		out := make([]float32, len(raw)/8)
		for i := range out {
			out[i] = float32(int64(binary.LittleEndian.Uint64(raw[8*i:])))
		}
		return out, t.Shape, nil
	}
	return nil, nil, fmt.Errorf("golden tensor %q has dtype %s", name, t.Dtype)
}

// Int64 reads an integer tensor.
func (s *Set) Int64(name string) ([]int64, []int64, error) {
	t, ok := s.Tensors[name]
	if !ok {
		return nil, nil, fmt.Errorf("no golden tensor %q", name)
	}
	raw, err := os.ReadFile(filepath.Join(s.dir, t.File))
	if err != nil {
		return nil, nil, err
	}
	if t.Dtype != "int64" {
		return nil, nil, fmt.Errorf("golden tensor %q has dtype %s", name, t.Dtype)
	}
	out := make([]int64, len(raw)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out, t.Shape, nil
}

// MaxAbsDiff compares two equally long slices.
func MaxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// RelL2 is ‖a − b‖ / ‖b‖.
func RelL2(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}
