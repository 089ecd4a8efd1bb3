package service

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/models/toyworld"
)

// ModelEntry is a model the app knows, usable or not.
type ModelEntry struct {
	Name    string
	Ref     string // "toyworld" or a folder path
	Family  string
	Problem string // why it cannot be used ("" when usable)
}

// BundledModel is the reference of the embedded demo model.
const BundledModel = toyworld.Name

// OpenModel resolves a model reference: "toyworld" (the bundled demo
// model, extracted into the data folder on first use) or a model folder.
func (s *Service) OpenModel(ref string) (*diffusion.Model, error) {
	s.loading.RLock()
	defer s.loading.RUnlock()
	if s.closed {
		return nil, errors.New("the app is closing")
	}
	dir := ref
	if ref == BundledModel {
		d, err := toyworld.Extract(filepath.Join(s.cfg.DataDir, "models"))
		if err != nil {
			return nil, err
		}
		dir = d
	}
	m, err := diffusion.Open(dir)
	if err != nil {
		return nil, err
	}
	if ref == BundledModel {
		m.Name = BundledModel
	}
	return m, nil
}

// Models lists the bundled model and the given folders, each with the
// reason it cannot be used, if any.
func (s *Service) Models(folders []string) []ModelEntry {
	var out []ModelEntry
	for _, ref := range append([]string{BundledModel}, folders...) {
		e := ModelEntry{Name: ref, Ref: ref}
		if ref != BundledModel {
			e.Name = filepath.Base(ref)
		}
		m, err := s.OpenModel(ref)
		switch {
		case m != nil && err != nil:
			e.Family, e.Problem = string(m.Family), err.Error()
		case err != nil:
			e.Problem = err.Error()
		default:
			e.Family = string(m.Family)
		}
		out = append(out, e)
	}
	return out
}

// Engine returns the engine for a model reference, keeping one engine open:
// asking for another model closes the previous one (its sessions and
// buffers are freed).
func (s *Service) Engine(ref string) (*diffusion.Engine, error) {
	s.mu.Lock()
	if s.engine != nil && s.engineRef == ref {
		e := s.engine
		s.mu.Unlock()
		return e, nil
	}
	s.mu.Unlock()
	rt, err := s.Runtime()
	if err != nil {
		return nil, err
	}
	m, err := s.OpenModel(ref)
	if err != nil {
		return nil, err
	}
	e := diffusion.NewEngine(rt, m, s.SessionOptions())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engine != nil {
		s.engine.Close()
	}
	s.engine, s.engineRef = e, ref
	return e, nil
}

// Generate runs one generation on the model ref.
func (s *Service) Generate(ctx context.Context, ref string, r diffusion.Request, onEvent func(diffusion.Event)) (*diffusion.Result, error) {
	e, err := s.Engine(ref)
	if err != nil {
		return nil, err
	}
	if r.Width == 0 {
		r.Width = e.Model.DefaultSize()
	}
	if r.Height == 0 {
		r.Height = e.Model.DefaultSize()
	}
	res, err := e.Generate(ctx, r, onEvent)
	if err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("generate with %s: %w", e.Model.Name, err)
	}
	return res, err
}

// Close frees the open engine.
func (s *Service) Close() error {
	// No model load may start after this, and those in flight finish first
	// (a window closing while the bundled model is being extracted).
	s.loading.Lock()
	s.closed = true
	s.loading.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engine != nil {
		s.engine.Close()
		s.engine = nil
	}
	return nil
}
