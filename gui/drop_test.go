//go:build ci

package gui

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/oneactor/oneactor-desktop/core/imageio"
)

func TestDropPictures(t *testing.T) {
	v, _ := testMain(t)
	dir := t.TempDir()
	img := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	good := filepath.Join(dir, "mug.png")
	if err := imageio.WritePNGFile(good, img); err != nil {
		t.Fatal(err)
	}
	ui(func() { v.HandleDrop([]string{good}) })
	waitFor(t, func() bool { return len(v.refs.Items()) == 1 })
	if it := v.refs.Items()[0]; it.Name != "mug.png" || !it.Reference {
		t.Fatalf("reference %+v", it)
	}
	waitFor(t, func() bool { return strings.Contains(v.status.Text, "Imported mug.png") })
	if topOverlay(v.win) != nil {
		t.Error("a plain picture opened a dialog")
	}

	// A foreign (AUTOMATIC1111) PNG offers its settings.
	foreign := filepath.Join(dir, "castle.png")
	params := "a castle at dusk\nNegative prompt: fog\nSteps: 25, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 1234, Size: 512x768, Model hash: abc, Model: dreamy"
	imageio.WritePNGFile(foreign, img, imageio.Text{Key: imageio.ParametersKey, Value: params})
	ui(func() { v.HandleDrop([]string{foreign}) })
	waitFor(t, func() bool { return strings.Contains(overlayText(v.win), "Reuse these settings") })
	if !strings.Contains(overlayText(v.win), "a castle at dusk") {
		t.Errorf("dialog %q", overlayText(v.win))
	}
	ui(func() { test.Tap(findButton(topOverlay(v.win), "Yes")) })
	p := v.panel
	if p.prompt.Text != "a castle at dusk" || p.negative.Text != "fog" || p.steps.Text != "25" || p.seed.Text != "1234" ||
		!p.seedLock.Checked || p.sampler.Selected != "DPM++ 2M Karras" || p.size.Selected != "512 × 768" {
		t.Errorf("applied: %q %q %q %q %v %q %q", p.prompt.Text, p.negative.Text, p.steps.Text, p.seed.Text,
			p.seedLock.Checked, p.sampler.Selected, p.size.Selected)
	}
	waitFor(t, func() bool { return strings.Contains(v.status.Text, "dreamy") })
	waitFor(t, func() bool { return len(v.refs.Items()) == 2 })

	// A damaged picture and a text file: a notice, nothing imported.
	bad := filepath.Join(dir, "broken.png")
	os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\n garbage"), 0o644)
	ui(func() { v.HandleDrop([]string{bad}) })
	waitFor(t, func() bool { return strings.Contains(v.status.Text, "broken.png is not a picture") })
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("hello"), 0o644)
	ui(func() { v.HandleDrop([]string{notes}) })
	waitFor(t, func() bool { return strings.Contains(v.status.Text, "notes.txt") })
	if len(v.refs.Items()) != 2 || topOverlay(v.win) != nil {
		t.Errorf("bad files: %d references, dialog %v", len(v.refs.Items()), topOverlay(v.win) != nil)
	}
	// Opening a reference shows it without generation actions.
	ui(func() { v.refs.list.Select(0) })
	if !v.viewerOpen() || !v.viewer.reuseBtn.Disabled() {
		t.Error("reference viewer")
	}
}

func TestDropModelFolder(t *testing.T) {
	v, model := testMain(t)
	if err := v.studio.RemoveModelFolder(model); err != nil {
		t.Fatal(err)
	}
	ui(func() { v.HandleDrop([]string{model}) })
	waitFor(t, func() bool { return strings.Contains(overlayText(v.win), "Add this model") })
	ui(func() { test.Tap(findButton(topOverlay(v.win), "Yes")) })
	waitFor(t, func() bool { d, _ := v.studio.ModelFolders(); return len(d) == 1 })

	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "model_index.json"), []byte(`{"_class_name": "StableDiffusionPipeline"}`), 0o644)
	ui(func() { v.HandleDrop([]string{broken}) })
	waitFor(t, func() bool { return strings.Contains(overlayText(v.win), "Add this model") })
	ui(func() { test.Tap(findButton(topOverlay(v.win), "Yes")) })
	waitFor(t, func() bool { return strings.Contains(overlayText(v.win), "cannot be used as a model") })
}
