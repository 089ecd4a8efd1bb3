package onnx

import (
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// Compose chains two models into one graph: b's inputs named in links read
// a's values (links[bInput] = a value, e.g. a ControlNet's residual outputs
// feeding a UNet); b's other inputs with the same name as an input of a
// become that shared input (sample, timestep, text); every other name of b
// gets prefix. The outputs are b's. Weights are not copied: the returned
// files map each external-data location of the result to the file it
// lives in now (b's locations get the prefix); SaveLinked puts links to
// them beside the composed model.
func Compose(a, b *Model, links map[string]string, prefix string) (*Model, map[string]string, error) {
	ga, gb := a.Proto.GetGraph(), proto.Clone(b.Proto.GetGraph()).(*onnxpb.GraphProto)
	aInputs := map[string]*onnxpb.ValueInfoProto{}
	for _, v := range ga.GetInput() {
		aInputs[v.GetName()] = v
	}
	aValues := map[string]bool{}
	for _, n := range ga.GetNode() {
		for _, o := range n.GetOutput() {
			aValues[o] = true
		}
	}
	for bIn, aVal := range links {
		if !aValues[aVal] && aInputs[aVal] == nil {
			return nil, nil, fmt.Errorf("compose: %q is not a value of the first model", aVal)
		}
		found := false
		for _, v := range gb.GetInput() {
			found = found || v.GetName() == bIn
		}
		if !found {
			return nil, nil, fmt.Errorf("compose: the second model has no input %q", bIn)
		}
	}
	rename := func(name string) string {
		if name == "" {
			return ""
		}
		if to, ok := links[name]; ok {
			return to
		}
		if aInputs[name] != nil {
			return name
		}
		return prefix + name
	}
	for _, n := range gb.GetNode() {
		for _, a := range n.GetAttribute() {
			if a.GetG() != nil || len(a.GetGraphs()) > 0 {
				return nil, nil, fmt.Errorf("compose: node %s has a subgraph; not supported", n.GetName())
			}
		}
		n.Name = ptr(prefix + n.GetName())
		for i, in := range n.Input {
			n.Input[i] = rename(in)
		}
		for i, o := range n.Output {
			n.Output[i] = rename(o)
		}
	}
	files := a.ExternalPaths()
	for _, t := range gb.GetInitializer() {
		t.Name = ptr(rename(t.GetName()))
		if isExternal(t) {
			loc := externalField(t, "location")
			for _, kv := range t.ExternalData {
				if kv.GetKey() == "location" {
					kv.Value = ptr(prefix + loc)
				}
			}
			files[prefix+loc] = filepath.Join(b.Dir, loc)
		}
	}
	g := proto.Clone(ga).(*onnxpb.GraphProto)
	g.Name = ptr(ga.GetName() + "+" + gb.GetName())
	g.Node = append(g.Node, gb.GetNode()...)
	g.Initializer = append(g.Initializer, gb.GetInitializer()...)
	for _, v := range gb.GetInput() {
		if _, linked := links[v.GetName()]; linked || aInputs[v.GetName()] != nil {
			continue
		}
		v.Name = ptr(rename(v.GetName()))
		g.Input = append(g.Input, v)
	}
	g.Output = nil
	for _, v := range gb.GetOutput() {
		v.Name = ptr(rename(v.GetName()))
		g.Output = append(g.Output, v)
	}
	g.ValueInfo = nil
	mp := proto.Clone(a.Proto).(*onnxpb.ModelProto)
	mp.Graph = g
	if b.Opset() > a.Opset() {
		mp.OpsetImport = b.Proto.GetOpsetImport()
	}
	return &Model{Proto: mp}, files, nil
}

// SaveLinked writes a composed model to path with a hard link, beside it,
// to every weight file it uses (files from Compose): no weights are copied,
// and ONNX Runtime finds them inside the model's folder.
func (m *Model) SaveLinked(path string, files map[string]string) error {
	dir := filepath.Dir(path)
	if err := LinkWeights(dir, files); err != nil {
		return err
	}
	m.Dir = dir
	return m.Save(path)
}

// LinkWeights hard-links each weight file (files: location → current path)
// into dir under its location: the same bytes on disk, no copy. A symbolic
// link does not do: ONNX Runtime resolves it and then refuses weights
// outside the model folder.
func LinkWeights(dir string, files map[string]string) error {
	for loc, src := range files {
		clean, err := cleanLocation(loc)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, clean)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if a, err := os.Stat(src); err == nil {
			if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
				continue
			}
		}
		os.Remove(dst)
		if err := os.Link(src, dst); err != nil {
			return fmt.Errorf("link weights %s into %s (it must be on the same disk as the model): %w", src, dir, err)
		}
	}
	return nil
}
