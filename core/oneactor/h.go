package oneactor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/oneactor/oneactor-desktop/core/autodiff"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// FindMidBlockInput finds h, the UNet's mid-block input (the output of the
// last down block), from the graph's structure alone: in every SD-style
// UNet the down path's block outputs are skip connections — produced early,
// concatenated on the channel axis late in the up path — and the last of
// them, at the lowest resolution, is also what the mid block reads. No
// node names are assumed.
func FindMidBlockInput(m *onnx.Model, sh *autodiff.Shapes) (string, []int64, error) {
	g := m.Proto.GetGraph()
	produced := map[string]int{}
	consumers := map[string][]string{}
	for i, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			produced[o] = i
		}
		for _, in := range n.GetInput() {
			consumers[in] = append(consumers[in], n.GetOpType())
		}
	}
	best, bestIdx := "", -1
	var bestArea int64 = -1
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Concat" || len(n.GetInput()) < 2 {
			continue
		}
		out := sh.Dims[n.GetOutput()[0]]
		if len(out) != 4 {
			continue
		}
		axis := int64(0)
		for _, a := range n.GetAttribute() {
			if a.GetName() == "axis" {
				axis = a.GetI()
			}
		}
		if axis != 1 && axis != -3 {
			continue
		}
		ins := n.GetInput()
		for _, skip := range ins {
			ps, ok := produced[skip]
			if !ok {
				continue
			}
			// A skip is produced before every other input of its Concat.
			isSkip := true
			for _, other := range ins {
				if other != skip && produced[other] <= ps {
					isSkip = false
				}
			}
			if !isSkip {
				continue
			}
			// …and also feeds computation that is not a Concat (the next block).
			feeds := false
			for _, op := range consumers[skip] {
				if op != "Concat" {
					feeds = true
				}
			}
			d := sh.Dims[skip]
			if !feeds || len(d) != 4 {
				continue
			}
			area := d[2] * d[3]
			if bestArea < 0 || area < bestArea || (area == bestArea && ps > bestIdx) {
				best, bestIdx, bestArea = skip, ps, area
			}
		}
	}
	if best == "" {
		return "", nil, fmt.Errorf("no skip connections found: this UNet does not look like a Stable Diffusion UNet, so its mid-block input cannot be located")
	}
	return best, sh.Dims[best], nil
}

// HModel is a UNet file edited to also output h.
type HModel struct {
	File   string  // the edited model: an absolute path, or a name in the UNet's folder
	Output string  // the extra output's name
	Shape  []int64 // h's shape for the probe inputs (batch first)
}

// BuildHModel finds h in the UNet at unetPath (probing shapes with the
// given example inputs) and writes the edited model into cacheDir with hard
// links to the UNet's weight files (nothing is copied, nothing is written
// into the model folder), or beside the UNet when cacheDir is "" or on
// another disk.
func BuildHModel(ctx context.Context, rt *ort.Runtime, unetPath string, inputs ort.Feeds, cacheDir string) (*HModel, error) {
	m, err := onnx.Load(unetPath)
	if err != nil {
		return nil, err
	}
	sh, err := autodiff.Probe(ctx, rt, m, inputs)
	if err != nil {
		return nil, fmt.Errorf("locate h: %w", err)
	}
	name, dims, err := FindMidBlockInput(m, sh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", unetPath, err)
	}
	dt := sh.Types[name]
	out := append([]int64{-1}, dims[1:]...) // batch stays free
	if err := m.AddOutput(name, dt, out); err != nil {
		return nil, err
	}
	if cacheDir != "" {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%v", unetPath, m.ExternalFiles())))
		dir := filepath.Join(cacheDir, hex.EncodeToString(sum[:8]))
		path := filepath.Join(dir, "unet-h.onnx")
		if err := os.MkdirAll(dir, 0o755); err == nil {
			if err := m.SaveLinked(path, m.ExternalPaths()); err == nil {
				return &HModel{File: path, Output: name, Shape: dims}, nil
			}
		}
	}
	file := ".oneactor-h-" + filepath.Base(unetPath)
	path := filepath.Join(filepath.Dir(unetPath), file)
	m.Dir = filepath.Dir(unetPath)
	if err := m.Save(path); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write UNet with h output: %w", err)
	}
	return &HModel{File: file, Output: name, Shape: dims}, nil
}
