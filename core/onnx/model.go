package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// Model is an ONNX model held as data. Initializers stored as external data
// stay on disk until TensorBytes asks for them, so loading a multi-gigabyte
// UNet reads only its graph.
type Model struct {
	Proto *onnxpb.ModelProto
	// Dir is the folder that external-data locations are relative to: the
	// folder of the file the model was read from, or "" for a model built in
	// memory.
	Dir string
}

// ErrNotONNX reports a file that is not an ONNX model.
var ErrNotONNX = errors.New("not an ONNX model")

// Load reads an ONNX model file. External weight files are not opened.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ONNX model: %w", err)
	}
	m, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes a serialized ModelProto. dir is the folder external data is
// resolved against.
func Parse(data []byte, dir string) (*Model, error) {
	mp := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotONNX, err)
	}
	// Protobuf accepts many non-ONNX byte strings (an empty file decodes to an
	// empty message), so insist on what every real model has.
	if mp.GetGraph() == nil || mp.GetIrVersion() == 0 {
		return nil, fmt.Errorf("%w: no graph or IR version in the file", ErrNotONNX)
	}
	return &Model{Proto: mp, Dir: dir}, nil
}

// Marshal serializes the model as it is (external-data references included).
func (m *Model) Marshal() ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m.Proto)
}

// Save writes the model file as it is. External-data references are kept
// verbatim, so they only resolve when path is in the folder the model was
// read from (Dir); otherwise Save refuses and SaveWithExternalData must be
// used, because ONNX Runtime rejects external data outside the model folder.
func (m *Model) Save(path string) error {
	if locs := m.ExternalFiles(); len(locs) > 0 {
		same, err := sameDir(m.Dir, filepath.Dir(path))
		if err != nil {
			return err
		}
		if !same {
			return fmt.Errorf("save %s: the model refers to external data %v in %s; "+
				"use SaveWithExternalData to write it beside the new file", path, locs, m.Dir)
		}
	}
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

// Opset returns the model's opset version for the default ONNX domain.
func (m *Model) Opset() int64 {
	for _, o := range m.Proto.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			return o.GetVersion()
		}
	}
	return 0
}

// Initializer returns the graph initializer with that name, or nil.
func (m *Model) Initializer(name string) *onnxpb.TensorProto {
	for _, t := range m.Proto.GetGraph().GetInitializer() {
		if t.GetName() == name {
			return t
		}
	}
	return nil
}

// ExternalFiles lists the distinct external-data locations the model's
// initializers (nested subgraphs included) refer to, in first-use order.
func (m *Model) ExternalFiles() []string {
	var out []string
	seen := map[string]bool{}
	forEachTensor(m.Proto.GetGraph(), func(t *onnxpb.TensorProto) {
		if !isExternal(t) {
			return
		}
		loc := externalField(t, "location")
		if !seen[loc] {
			seen[loc] = true
			out = append(out, loc)
		}
	})
	return out
}

// ExternalPaths maps each external-data location to its file on disk (in
// the model's folder).
func (m *Model) ExternalPaths() map[string]string {
	out := map[string]string{}
	for _, loc := range m.ExternalFiles() {
		out[loc] = filepath.Join(m.Dir, loc)
	}
	return out
}

// forEachTensor calls fn for every initializer and tensor attribute of g and
// of its subgraphs (If/Loop/Scan bodies).
func forEachTensor(g *onnxpb.GraphProto, fn func(*onnxpb.TensorProto)) {
	forEachInitializer(g, fn)
	forEachAttributeTensor(g, fn)
}

func sameDir(a, b string) (bool, error) {
	if a == "" {
		return false, nil
	}
	aa, err := filepath.Abs(a)
	if err != nil {
		return false, err
	}
	bb, err := filepath.Abs(b)
	if err != nil {
		return false, err
	}
	if aa == bb {
		return true, nil
	}
	sa, errA := os.Stat(aa)
	sb, errB := os.Stat(bb)
	return errA == nil && errB == nil && os.SameFile(sa, sb), nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so a crash never leaves a half-written model.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// cleanLocation checks an external-data location the way ONNX Runtime does:
// a relative path that stays inside the model's folder.
func cleanLocation(loc string) (string, error) {
	if loc == "" {
		return "", errors.New("external data entry without a location")
	}
	if filepath.IsAbs(loc) {
		return "", fmt.Errorf("external data location %q is absolute; it must be relative to the model folder", loc)
	}
	c := filepath.Clean(loc)
	if c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("external data location %q leaves the model folder", loc)
	}
	return c, nil
}

// AddOutput exposes an existing value of the graph as an extra output with
// the given type and shape (a graph edit: nodes and weights are unchanged).
func (m *Model) AddOutput(name string, dt DataType, dims []int64) error {
	g := m.Proto.GetGraph()
	for _, o := range g.GetOutput() {
		if o.GetName() == name {
			return nil
		}
	}
	produced := false
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o == name {
				produced = true
			}
		}
	}
	if !produced {
		return fmt.Errorf("no node produces %q", name)
	}
	shape := make([]Dim, len(dims))
	for i, d := range dims {
		shape[i] = Dim{Value: d}
		if d < 0 {
			shape[i] = Dim{Value: -1, Param: fmt.Sprintf("%s_dim%d", name, i)}
		}
	}
	g.Output = append(g.Output, valueInfoProto(ValueInfo{Name: name, Type: dt, Shape: shape}))
	return nil
}

// withGraph is a model of graph g with m's IR version, opsets and folder
// (for the parts a graph is split into).
func (m *Model) withGraph(g *onnxpb.GraphProto) *Model {
	return &Model{Proto: &onnxpb.ModelProto{
		IrVersion:    ptr(m.Proto.GetIrVersion()),
		ProducerName: ptr("oneactor-desktop"),
		OpsetImport:  m.Proto.GetOpsetImport(),
		Graph:        g,
	}, Dir: m.Dir}
}

// subgraph is a graph named name of nodes (taken as they are), with
// copies of g's inputs and initializers that keep accepts by name, and
// outputs declared as given.
func subgraph(g *onnxpb.GraphProto, name string, nodes []*onnxpb.NodeProto, keepInput, keepInit func(string) bool, outputs []ValueInfo) *onnxpb.GraphProto {
	sg := &onnxpb.GraphProto{Name: ptr(name), Node: nodes}
	for _, v := range g.GetInput() {
		if keepInput(v.GetName()) {
			sg.Input = append(sg.Input, proto.Clone(v).(*onnxpb.ValueInfoProto))
		}
	}
	for _, t := range g.GetInitializer() {
		if keepInit(t.GetName()) {
			sg.Initializer = append(sg.Initializer, proto.Clone(t).(*onnxpb.TensorProto))
		}
	}
	for _, v := range outputs {
		sg.Output = append(sg.Output, valueInfoProto(v))
	}
	return sg
}
