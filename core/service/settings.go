package service

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/storage"
)

// Setting keys in the library.
const (
	settingModelFolders = "models.folders"
	settingProvider     = "device.provider"
)

// ModelFolders are the model folders the user added, in the order added.
func (st *Studio) ModelFolders() ([]string, error) {
	var dirs []string
	if _, err := st.lib.Setting(settingModelFolders, &dirs); err != nil {
		return nil, fmt.Errorf("read the model folders setting: %w", err)
	}
	return dirs, nil
}

// AddModelFolder checks that dir is a model folder the app can run and
// remembers it. A folder that cannot be used is refused with the loader's
// own error, which names what is wrong with it.
func (st *Studio) AddModelFolder(dir string) (ModelInfo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ModelInfo{}, err
	}
	m, err := st.svc.OpenModel(abs)
	if err != nil {
		return ModelInfo{}, err
	}
	dirs, err := st.ModelFolders()
	if err != nil {
		return ModelInfo{}, err
	}
	if !slices.Contains(dirs, abs) {
		dirs = append(dirs, abs)
		if err := st.lib.SetSetting(settingModelFolders, dirs); err != nil {
			return ModelInfo{}, fmt.Errorf("remember the model folder: %w", err)
		}
	}
	return describe(abs, m), nil
}

// RemoveModelFolder forgets a model folder (the files stay).
func (st *Studio) RemoveModelFolder(dir string) error {
	dirs, err := st.ModelFolders()
	if err != nil {
		return err
	}
	dirs = slices.DeleteFunc(dirs, func(d string) bool { return d == dir })
	if err := st.lib.SetSetting(settingModelFolders, dirs); err != nil {
		return fmt.Errorf("forget the model folder: %w", err)
	}
	return nil
}

// AvailableModels lists the bundled model and the added folders, each with
// the reason it cannot be used, if any.
func (st *Studio) AvailableModels() ([]ModelEntry, error) {
	dirs, err := st.ModelFolders()
	if err != nil {
		return nil, err
	}
	return st.svc.Models(dirs), nil
}

// ModelRefFor finds the model a recipe was made with among the known
// models, by fingerprint first, then by name; "" when none matches.
func (st *Studio) ModelRefFor(r Recipe) string {
	if r.ModelRef != "" {
		return r.ModelRef
	}
	st.mu.Lock()
	for ref, f := range st.models {
		if r.ModelFingerprint != "" && f.fingerprint == r.ModelFingerprint {
			st.mu.Unlock()
			return ref
		}
	}
	st.mu.Unlock()
	if infos, err := st.lib.Models(); err == nil {
		for _, m := range infos {
			if m.Path != "" && (m.Fingerprint == r.ModelFingerprint || r.ModelFingerprint == "" && m.Name == r.ModelName) {
				return m.Path
			}
		}
	}
	if r.ModelName == BundledModel {
		return BundledModel
	}
	return ""
}

// rememberModel records a model the library has used, so that recipes can
// find it again by fingerprint.
func (st *Studio) rememberModel(ref string, f modelFacts) {
	_ = st.lib.PutModel(&storage.ModelInfo{Fingerprint: f.fingerprint, Name: f.info.Name,
		Family: f.info.Family, Path: ref, Added: time.Now()})
}

// Provider is the execution provider in use for new engines.
func (st *Studio) Provider() ort.Provider {
	st.svc.mu.Lock()
	defer st.svc.mu.Unlock()
	return st.svc.cfg.Provider
}

// SetProvider switches the execution provider and remembers the choice.
// The open engine is closed so that the next job starts on the new one.
func (st *Studio) SetProvider(p ort.Provider) error {
	if _, err := ort.ParseProvider(string(p)); err != nil {
		return err
	}
	if len(st.Jobs()) > 0 {
		return fmt.Errorf("the device can be changed when no job is queued or running")
	}
	if err := st.lib.SetSetting(settingProvider, string(p)); err != nil {
		return fmt.Errorf("remember the device: %w", err)
	}
	s := st.svc
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Provider = p
	if s.engine != nil {
		s.engine.Close()
		s.engine, s.engineRef = nil, ""
	}
	return nil
}

// applySavedProvider uses the remembered device unless the command line
// asked for one (anything but the default "auto").
func (st *Studio) applySavedProvider() {
	var saved string
	if ok, err := st.lib.Setting(settingProvider, &saved); err != nil || !ok {
		return
	}
	p, err := ort.ParseProvider(saved)
	if err != nil {
		return
	}
	s := st.svc
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Provider == ort.ProviderAuto {
		s.cfg.Provider = p
	}
}
