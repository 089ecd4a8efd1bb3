//go:build ci

package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/oneactor/oneactor-desktop/core/service"
)

func TestSettingsModelFolders(t *testing.T) {
	v, model := testMain(t)
	ui(func() { v.ShowSettings() })
	s := v.settings
	waitFor(t, func() bool { return len(s.folders) == 1 && s.device.Selected != "" })
	if s.folders[0] != model {
		t.Fatalf("folders %v", s.folders)
	}

	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "model_index.json"), []byte(`{"_class_name": "StableDiffusionPipeline"}`), 0o644)
	// What the loader says about the folder, shown verbatim.
	_, loaderErr := v.studio.AddModelFolder(broken)
	if loaderErr == nil {
		t.Fatal("broken folder accepted")
	}
	ui(func() { test.Type(s.path, broken) })
	ui(func() { test.Tap(s.add) })
	waitFor(t, func() bool { return s.problem.Visible() })
	if !strings.Contains(s.problem.Text, loaderErr.Error()) {
		t.Errorf("problem %q lacks the loader's error %q", s.problem.Text, loaderErr)
	}

	ui(func() { test.Tap(findButton(s.Object(), "Remove")) })
	waitFor(t, func() bool { return len(s.folders) == 0 })
	waitFor(t, func() bool { return len(v.panel.modelSel.Options) == 1 })

	ui(func() { s.device.SetSelected("CPU") })
	waitFor(t, func() bool { return v.studio.Provider() == "cpu" })
	// The choice is kept in the library for the next start.
	v.win.Close()
	st, err := service.New(service.Config{DataDir: v.backend.DataDir()}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Provider() != "cpu" {
		t.Errorf("provider after restart %q", st.Provider())
	}
}
