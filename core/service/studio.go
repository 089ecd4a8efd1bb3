package service

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/storage"
)

// Studio is the working session behind a window: the open library, the
// job queue and the models in use. The GUI talks to it only; it never
// hands out storage or engine types.
type Studio struct {
	svc *Service
	lib *storage.Library

	mu     sync.Mutex
	models map[string]modelFacts // by model ref, filled on first use
	subj   subjectState          // castings and tokenizers (studio_subjects.go)

	jobs *queue

	closeOnce sync.Once
	closeErr  error
}

// modelFacts is what the studio remembers about a model after opening it.
type modelFacts struct {
	info        ModelInfo
	fingerprint string
}

// LibraryError explains why the library could not be opened, in words for
// a dialog: a one-line Summary, the Detail, and whether the user may move
// the damaged file aside and start a new library (StartNewLibrary).
type LibraryError struct {
	Summary string
	Detail  string
	Damaged bool
	Err     error
}

func (e *LibraryError) Error() string { return e.Summary + ": " + e.Detail }
func (e *LibraryError) Unwrap() error { return e.Err }

// OpenStudio opens the library in the data folder and starts the job
// worker. A library that another window holds, or a damaged or newer file,
// comes back as a *LibraryError.
func (s *Service) OpenStudio() (*Studio, error) {
	if err := storage.EnsureDataDir(s.cfg.DataDir); err != nil {
		return nil, &LibraryError{Summary: "The data folder cannot be used", Detail: err.Error(), Err: err}
	}
	lib, err := storage.Open(s.cfg.DataDir, nil)
	if err != nil {
		return nil, explainLibraryError(err)
	}
	st := &Studio{svc: s, lib: lib, models: map[string]modelFacts{}}
	// Deletes still pending when the app last stopped (a crash before
	// Close) are finished now. A failure leaves them hidden and pending;
	// the next open tries again.
	_, _ = st.purgeTrash()
	st.applySavedProvider()
	st.jobs = newQueue(st)
	return st, nil
}

func explainLibraryError(err error) *LibraryError {
	var locked *storage.LockedError
	var corrupt *storage.CorruptError
	var newer *storage.NewerSchemaError
	switch {
	case errors.As(err, &locked):
		who := "another OneActor window"
		if locked.PID > 0 {
			who = fmt.Sprintf("another OneActor window (process %d)", locked.PID)
		}
		return &LibraryError{Summary: "The library is open in another window",
			Detail: fmt.Sprintf("%s is using %s. Close it and start again, or start this window with another --data-dir.", who, locked.Path),
			Err:    err}
	case errors.As(err, &corrupt):
		return &LibraryError{Summary: "The library file is damaged",
			Detail:  fmt.Sprintf("%s cannot be read (%s). It has not been changed. You can keep it aside and start a new, empty library.", corrupt.Path, corrupt.Reason),
			Damaged: true, Err: err}
	case errors.As(err, &newer):
		return &LibraryError{Summary: "The library was made by a newer version of the app",
			Detail: fmt.Sprintf("%s has schema %d; this version reads up to %d. Update the app to open it.", newer.Path, newer.Version, newer.Supported),
			Err:    err}
	default:
		return &LibraryError{Summary: "The library could not be opened", Detail: err.Error(), Err: err}
	}
}

// StartNewLibrary moves a damaged library file aside (it is kept, renamed)
// and opens a new one. It returns the new studio and the kept file's name.
func (s *Service) StartNewLibrary() (*Studio, string, error) {
	kept, err := storage.MoveAside(s.cfg.DataDir)
	if err != nil {
		return nil, "", fmt.Errorf("keep the damaged library aside: %w", err)
	}
	st, err := s.OpenStudio()
	return st, kept, err
}

// Service is the service the studio runs on (diagnostics, data folder).
func (st *Studio) Service() *Service { return st.svc }

// Close stops the worker (cancelling the running job), makes pending
// deletes final and closes the library. A second Close does nothing.
func (st *Studio) Close() error {
	st.closeOnce.Do(func() {
		st.jobs.stop()
		st.svc.Close() // waits for model loads the window started (e.g. extracting the bundled model)
		_, perr := st.purgeTrash()
		st.closeErr = errors.Join(perr, st.lib.Close())
	})
	return st.closeErr
}

// ModelInfo describes a model for the generation panel.
type ModelInfo struct {
	Ref         string
	Name        string
	Family      string
	DefaultSize int
	Factor      int
	ControlNet  bool
}

// Model opens (once) and describes the model ref.
func (st *Studio) Model(ref string) (ModelInfo, error) {
	f, err := st.facts(ref)
	return f.info, err
}

func (st *Studio) facts(ref string) (modelFacts, error) {
	st.mu.Lock()
	f, ok := st.models[ref]
	st.mu.Unlock()
	if ok {
		return f, nil
	}
	m, err := st.svc.OpenModel(ref)
	if err != nil {
		return modelFacts{}, err
	}
	fp, err := m.Fingerprint()
	if err != nil {
		return modelFacts{}, fmt.Errorf("fingerprint of %s: %w", ref, err)
	}
	f = modelFacts{info: describe(ref, m), fingerprint: fp}
	st.mu.Lock()
	st.models[ref] = f
	st.mu.Unlock()
	return f, nil
}

func describe(ref string, m *diffusion.Model) ModelInfo {
	return ModelInfo{Ref: ref, Name: m.Name, Family: string(m.Family), DefaultSize: m.DefaultSize(),
		Factor: int(m.Factor), ControlNet: m.ControlNet != nil}
}

// Size is an image size in pixels.
type Size struct{ Width, Height int }

func (s Size) String() string { return fmt.Sprintf("%d × %d", s.Width, s.Height) }

// SizePresets are the output sizes offered for a model: its native square
// and common portrait/landscape ratios of the same area, each side a
// multiple of the model's latent factor (the UNet needs whole latents).
func SizePresets(m ModelInfo) []Size {
	d, f := m.DefaultSize, max(m.Factor, 1)
	if d <= 0 {
		d = 512
	}
	round := func(v float64) int {
		n := int(v/float64(f)+0.5) * f
		return max(n, f)
	}
	out := []Size{{d, d}}
	for _, r := range [][2]float64{{3, 4}, {4, 3}, {2, 3}, {3, 2}, {9, 16}, {16, 9}} {
		// Keep the pixel count near d² so speed and quality stay alike.
		w := float64(d) * math.Sqrt(r[0]/r[1])
		h := float64(d) * math.Sqrt(r[1]/r[0])
		s := Size{round(w), round(h)}
		if s != out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out
}

// TakeInterruptedJobs returns the titles of the jobs the app was running
// when it last stopped (a crash, a kill, a power cut), once: their records
// are dismissed so the next start does not report them again. Nothing of
// such a job was saved.
func (st *Studio) TakeInterruptedJobs() ([]string, error) {
	jobs, err := st.lib.InterruptedJobs()
	if err != nil {
		return nil, fmt.Errorf("read interrupted jobs: %w", err)
	}
	var titles []string
	for _, j := range jobs {
		titles = append(titles, j.Title)
		if err := st.lib.DismissJob(j.ID); err != nil {
			return titles, fmt.Errorf("dismiss job %s: %w", j.ID, err)
		}
	}
	return titles, nil
}
