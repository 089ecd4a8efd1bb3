package autodiff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// Built is a gradient model on disk, ready for ort.NewSession.
type Built struct {
	Path string
	// Result describes the model's inputs and outputs (Model is nil when
	// the build came from the cache).
	Result
	Cached bool
}

// cachedMeta is what is stored beside a cached gradient model.
type cachedMeta struct {
	Key                         string
	Target, Upstream, Weights   string
	Loss                        string
	Grads                       map[string]string
	ForwardNodes, BackwardNodes int
}

// Build compiles the gradient model of the model file at path for the
// shapes of inputs, or reuses an earlier build with the same key (model
// file bytes, weight files' sizes and times, options, input shapes).
//
// External weights are never copied: the gradient model refers to the
// original weight files. It is written into cacheDir with hard links to the
// weight files (so the locations stay relative to the model, as ONNX
// Runtime requires), or beside the model when that fails.
func Build(ctx context.Context, rt *ort.Runtime, path string, inputs ort.Feeds, opt Options, cacheDir string) (*Built, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	key, err := buildKey(path, m, inputs, opt)
	if err != nil {
		return nil, err
	}
	// The cache folder comes first (hard links to the weights: nothing is
	// written into the user's model folder); beside the model is the
	// fallback when the cache is on another disk.
	dir := filepath.Dir(path)
	var candidates []string
	if cacheDir != "" {
		candidates = append(candidates, filepath.Join(cacheDir, key, filepath.Base(path)))
	}
	if writableDir(dir) {
		candidates = append(candidates, filepath.Join(dir, ".oneactor-grad-"+key+".onnx"))
	}
	for _, c := range candidates {
		if b, ok := loadCached(c, key); ok {
			return b, nil
		}
	}

	if len(candidates) == 0 {
		return nil, fmt.Errorf("write gradient model: %s is not writable and no cache folder was given", dir)
	}
	if opt.Float32 {
		return buildWidened(ctx, rt, m, inputs, opt, key, candidates)
	}
	sh, err := Probe(ctx, rt, m, inputs)
	if err != nil {
		return nil, err
	}
	res, err := Compile(m, sh, opt)
	if err != nil {
		return nil, err
	}
	meta := cachedMeta{Key: key, Target: res.Target, Upstream: res.Upstream, Weights: res.Weights,
		Loss: res.Loss, Grads: res.Grads, ForwardNodes: res.ForwardNodes, BackwardNodes: res.BackwardNodes}
	var errs []error
	for _, c := range candidates {
		if filepath.Dir(c) != dir { // the cache folder: link the weight files in
			if err := onnx.LinkWeights(filepath.Dir(c), m.ExternalPaths()); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		res.Model.Dir = filepath.Dir(c)
		if err := writeCached(c, res.Model, meta); err != nil {
			errs = append(errs, err)
			continue
		}
		return &Built{Path: c, Result: *res}, nil
	}
	return nil, fmt.Errorf("write gradient model: %w", errors.Join(errs...))
}

// buildWidened builds the gradient of a float16 model in float32. The
// widened weights — new bytes, twice the float16 ones — are written first,
// into a data file beside the gradient model, and the forward model is
// probed from there: a model of SD size cannot reach ONNX Runtime in
// memory (protobuf's 2 GB limit), and the gradient model then refers to
// the same file, so the weights are written once.
func buildWidened(ctx context.Context, rt *ort.Runtime, m *onnx.Model, inputs ort.Feeds, opt Options, key string, candidates []string) (*Built, error) {
	var errs []error
	for _, c := range candidates {
		d := filepath.Dir(c)
		data := filepath.Base(c) + ".fp32.bin"
		fwd := filepath.Join(d, ".forward-"+filepath.Base(c))
		if err := os.MkdirAll(d, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		wide, err := m.ToFloat32()
		if err != nil {
			return nil, err
		}
		if err := wide.SaveWithExternalData(fwd, onnx.ExternalOptions{Location: data}); err != nil {
			errs = append(errs, err)
			continue
		}
		fm, err := onnx.Load(fwd)
		os.Remove(fwd)
		fail := func(err error) (*Built, error) {
			os.Remove(filepath.Join(d, data)) // gigabytes no model refers to
			return nil, err
		}
		if err != nil {
			return fail(err)
		}
		sh, err := Probe(ctx, rt, fm, inputs)
		if err != nil {
			return fail(err)
		}
		res, err := Compile(fm, sh, opt)
		if err != nil {
			return fail(err)
		}
		res.Model.Dir = d
		meta := cachedMeta{Key: key, Target: res.Target, Upstream: res.Upstream, Weights: res.Weights,
			Loss: res.Loss, Grads: res.Grads, ForwardNodes: res.ForwardNodes, BackwardNodes: res.BackwardNodes}
		if err := writeCached(c, res.Model, meta); err != nil {
			os.Remove(filepath.Join(d, data))
			errs = append(errs, err)
			continue
		}
		return &Built{Path: c, Result: *res}, nil
	}
	return nil, fmt.Errorf("write gradient model: %w", errors.Join(errs...))
}

// writableDir reports whether files can be created in dir (a variable so
// tests can take the cache-folder route even as root).
var writableDir = func(dir string) bool {
	f, err := os.CreateTemp(dir, ".oneactor-write-test-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

func buildKey(path string, m *onnx.Model, inputs ort.Feeds, opt Options) (string, error) {
	h := sha256.New()
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	for _, loc := range m.ExternalFiles() {
		st, err := os.Stat(filepath.Join(m.Dir, loc))
		if err != nil {
			return "", fmt.Errorf("weights file of %s: %w", path, err)
		}
		fmt.Fprintf(h, "\x00%s\x00%d\x00%d", loc, st.Size(), st.ModTime().UnixNano())
	}
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(h, "\x00in %s %v", n, inputs[n].Shape())
	}
	o, _ := json.Marshal(opt)
	h.Write(o)
	fmt.Fprintf(h, "\x00compiler v1")
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

func loadCached(path, key string) (*Built, bool) {
	data, err := os.ReadFile(path + ".json")
	if err != nil {
		return nil, false
	}
	var meta cachedMeta
	if json.Unmarshal(data, &meta) != nil || meta.Key != key {
		return nil, false
	}
	if _, err := os.Stat(path); err != nil {
		return nil, false
	}
	return &Built{Path: path, Cached: true, Result: Result{Target: meta.Target, Upstream: meta.Upstream,
		Weights: meta.Weights, Loss: meta.Loss, Grads: meta.Grads,
		ForwardNodes: meta.ForwardNodes, BackwardNodes: meta.BackwardNodes}}, true
}

// writeCached writes the model, then its metadata: the metadata is the
// commit record, so a crash leaves at worst a model that is rebuilt.
func writeCached(path string, m *onnx.Model, meta cachedMeta) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := m.Save(path); err != nil {
		return err
	}
	return writeMeta(path, meta)
}

func writeMeta(path string, meta cachedMeta) error {
	data, err := json.MarshalIndent(meta, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".json.tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path+".json")
}
