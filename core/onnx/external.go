package onnx

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// The two external-data conventions published Stable Diffusion exports use.
const (
	// WeightsPB is the single weights file of the diffusers conversion script.
	WeightsPB = "weights.pb"
	// ModelOnnxData is the data file name written by optimum and torch.
	ModelOnnxData = "model.onnx_data"
)

// ExternalOptions controls SaveWithExternalData.
type ExternalOptions struct {
	// Location is the data file's name, relative to the model file. Empty
	// means "<model file name>_data".
	Location string
	// Threshold is the size in bytes from which an initializer is moved to
	// the data file; smaller ones stay inline. 0 means 1024, the ONNX default.
	Threshold int
}

// Alignment of tensors in the data file. Large tensors start on a page
// boundary so ONNX Runtime can memory-map them.
const (
	smallAlign = 64
	pageAlign  = 4096
	pageFrom   = 64 << 10
)

// SaveWithExternalData writes the model to path with its large initializers
// in one data file beside it (opts.Location), so ONNX Runtime's rule that
// external data lives in the model's folder holds. Weights already in
// external files are streamed across one tensor at a time; m is not changed.
// Both files are written to temporary names first and renamed at the end.
func (m *Model) SaveWithExternalData(path string, opts ExternalOptions) error {
	loc := opts.Location
	if loc == "" {
		loc = filepath.Base(path) + "_data"
	}
	loc, err := cleanLocation(loc)
	if err != nil {
		return err
	}
	threshold := opts.Threshold
	if threshold <= 0 {
		threshold = 1024
	}
	dir := filepath.Dir(path)
	clone := proto.Clone(m.Proto).(*onnxpb.ModelProto)

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(loc)+".tmp*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op after the rename
	w := bufio.NewWriterSize(tmp, 1<<20)
	var offset int64

	var convErr error
	forEachInitializer(clone.GetGraph(), func(t *onnxpb.TensorProto) {
		if convErr != nil {
			return
		}
		raw, err := m.TensorBytes(t)
		if err != nil {
			convErr = err
			return
		}
		clearData(t)
		if len(raw) < threshold {
			t.RawData = raw
			return
		}
		align := int64(smallAlign)
		if len(raw) >= pageFrom {
			align = pageAlign
		}
		if pad := (align - offset%align) % align; pad > 0 {
			if _, err := w.Write(make([]byte, pad)); err != nil {
				convErr = err
				return
			}
			offset += pad
		}
		if _, err := w.Write(raw); err != nil {
			convErr = err
			return
		}
		t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		t.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: ptr("location"), Value: ptr(filepath.ToSlash(loc))},
			{Key: ptr("offset"), Value: ptr(strconv.FormatInt(offset, 10))},
			{Key: ptr("length"), Value: ptr(strconv.Itoa(len(raw)))},
		}
		offset += int64(len(raw))
	})
	// Tensor attributes (Constant nodes) stay inline: ONNX Runtime resolves
	// external data for initializers only.
	forEachAttributeTensor(clone.GetGraph(), func(t *onnxpb.TensorProto) {
		if convErr != nil || !isExternal(t) {
			return
		}
		raw, err := m.TensorBytes(t)
		if err != nil {
			convErr = err
			return
		}
		clearData(t)
		t.RawData = raw
	})
	if convErr == nil {
		convErr = w.Flush()
	}
	if convErr == nil {
		convErr = tmp.Sync()
	}
	if cerr := tmp.Close(); convErr == nil {
		convErr = cerr
	}
	if convErr != nil {
		return fmt.Errorf("save %s with external data: %w", path, convErr)
	}
	if offset > 0 {
		if err := os.Rename(tmpName, filepath.Join(dir, loc)); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(clone)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

func clearData(t *onnxpb.TensorProto) {
	t.RawData = nil
	t.FloatData, t.Int32Data, t.Int64Data = nil, nil, nil
	t.DoubleData, t.Uint64Data, t.StringData = nil, nil, nil
	t.ExternalData = nil
	t.DataLocation = nil
}

func forEachInitializer(g *onnxpb.GraphProto, fn func(*onnxpb.TensorProto)) {
	if g == nil {
		return
	}
	for _, t := range g.GetInitializer() {
		fn(t)
	}
	for _, n := range g.GetNode() {
		for _, a := range n.GetAttribute() {
			forEachInitializer(a.GetG(), fn)
			for _, sg := range a.GetGraphs() {
				forEachInitializer(sg, fn)
			}
		}
	}
}

func forEachAttributeTensor(g *onnxpb.GraphProto, fn func(*onnxpb.TensorProto)) {
	if g == nil {
		return
	}
	for _, n := range g.GetNode() {
		for _, a := range n.GetAttribute() {
			if a.GetT() != nil {
				fn(a.GetT())
			}
			for _, t := range a.GetTensors() {
				fn(t)
			}
			forEachAttributeTensor(a.GetG(), fn)
			for _, sg := range a.GetGraphs() {
				forEachAttributeTensor(sg, fn)
			}
		}
	}
}
