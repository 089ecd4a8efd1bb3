//go:build ci

package gui

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// shot saves the window as name.png under $ONEACTOR_SHOTS, when set (the
// screenshots of the casting flow, tuning and subject page are made so).
func shot(t *testing.T, v *MainView, name string) {
	t.Helper()
	dir := os.Getenv("ONEACTOR_SHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ui(func() { capture(t, v, filepath.Join(dir, name+".png")) })
}

// capture writes the window to path; the caller holds uiMu. The test
// driver, unlike the desktop one, does not lay out again what grew since
// the last layout (the desktop driver checks min sizes every frame), so
// the whole tree is laid out first, parents before children.
func capture(t *testing.T, v *MainView, path string) {
	for range 3 {
		for _, o := range test.LaidOutObjects(v.win.Content()) {
			switch x := o.(type) {
			case *fyne.Container:
				if x.Layout != nil {
					x.Layout.Layout(x.Objects, x.Size())
				}
			case fyne.Widget:
				test.WidgetRenderer(x).Layout(x.Size())
			}
		}
	}
	img := v.win.Canvas().Capture()
	f, err := os.Create(path)
	if err == nil {
		err = png.Encode(f, img)
		f.Close()
	}
	if err != nil {
		t.Error(err)
	}
}

func differentPixels(a, b image.Image) int {
	n := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				n++
			}
		}
	}
	return n
}

// TestSubjectEndToEnd walks the OneActor GUI on the bundled ToyWorld
// model: New subject → base word checked (a two-token word is refused with
// suggestions) → cast a batch → pick the target → tune 10 steps with
// progress and a loss plot → the subject page → the subject in the prompt
// (chip, base word) → generate → the recipe records it → the gallery
// filtered by it.
func TestSubjectEndToEnd(t *testing.T) {
	start := time.Now()
	a := test.NewTempApp(t)
	svc := service.New(service.Config{DataDir: t.TempDir()})
	if _, err := svc.OpenModel(service.BundledModel); err != nil {
		t.Fatal(err)
	}
	v := newMainView(a, svc)
	defer v.win.Close()
	v.win.Resize(fyne.NewSize(1280, 800))
	p := v.panel
	waitLong(t, "ToyWorld to be chosen", func() bool { return p.model.Ref == service.BundledModel && !p.generate.Disabled() })

	// A plain picture first, so the subject filter has something to leave out.
	ui(func() {
		p.prompt.SetText("a creature in the snow")
		p.steps.SetText("10")
		test.Tap(p.generate)
	})
	waitLong(t, "the plain picture", func() bool { return len(v.gallery.Items()) == 1 })

	// New subject: the base word follows the prompt and is checked.
	ui(func() { test.Tap(findButton(v.subj.root, "New subject")) })
	f := v.subj.flow
	if f == nil {
		t.Fatal("no flow")
	}
	ui(func() {
		f.name.SetText("Rex")
		f.basePrompt.SetText("a creatureling")
	})
	waitLong(t, "the two-token word to be refused", func() bool {
		return strings.Contains(f.wordNote.Text, "not one token") && len(f.suggest.Objects) > 1 && f.castBtn.Disabled()
	})
	shot(t, v, "1-base-word-refused")
	ui(func() { f.basePrompt.SetText("a creature") })
	waitLong(t, "the base word to be accepted", func() bool { return f.wordOK && !f.castBtn.Disabled() })
	if f.baseWord.Text != "creature" {
		t.Fatalf("base word %q", f.baseWord.Text)
	}
	steps := 10
	if os.Getenv("ONEACTOR_SHOTS") != "" {
		steps = 80 // a longer curve for the screenshots
	}
	ui(func() {
		f.steps.SetText(strconv.Itoa(steps))
		test.Tap(f.castBtn)
	})
	waitLong(t, "11 candidates", func() bool { return f.casting != nil && len(f.cells) == 11 })
	if !f.tuneBtn.Disabled() {
		t.Fatal("Tune enabled before a pick")
	}
	ui(func() { test.Tap(f.cells[3]) })
	if f.target != 3 || !f.cells[3].picked || f.tuneBtn.Disabled() {
		t.Fatalf("pick: target %d, Tune disabled %v", f.target, f.tuneBtn.Disabled())
	}
	shot(t, v, "2-candidates-picked")

	// Tune with progress; the live loss plot follows every step.
	var sawProgress bool
	ui(func() { test.Tap(f.tuneBtn) })
	waitLong(t, "the subject to be tuned", func() bool {
		if strings.HasPrefix(f.tuneText.Text, "Step ") && strings.Contains(f.tuneText.Text, "loss") && strings.Contains(f.tuneText.Text, "left") {
			if !sawProgress && len(f.plot.values) >= steps/2 {
				sawProgress = true
				if dir := os.Getenv("ONEACTOR_SHOTS"); dir != "" {
					capture(t, v, filepath.Join(dir, "3-tuning-progress.png")) // uiMu is held here
				}
			}
		}
		return f.subjectID != ""
	})
	if !sawProgress || len(f.plot.values) != steps || !f.ready.Visible() {
		t.Fatalf("progress seen %v, plot %d values, ready %v (%q)", sawProgress, len(f.plot.values), f.ready.Visible(), f.tuneText.Text)
	}
	shot(t, v, "4-tuned")
	waitLong(t, "the subject in the list", func() bool { return len(v.subj.Subjects()) == 1 })
	sub := v.subj.Subjects()[0]
	if sub.Name != "Rex" || sub.BaseWord != "creature" || sub.Auxiliaries != 10 || len(sub.LossCurve) != steps {
		t.Fatalf("subject %+v", sub)
	}

	// The subject page: pictures, loss curve, sliders with a preview.
	ui(func() { v.subj.OpenPage(sub.ID) })
	pg := v.subj.page
	waitLong(t, "the page", func() bool { return pg.info.ID == sub.ID && len(pg.aux.Objects) == 10 })
	ui(func() {
		pg.v.SetValue(0.6)
		pg.guidanceChanged()
	})
	waitLong(t, "a preview", func() bool { return strings.Contains(pg.previewText.Text, "not saved") })
	if info, _ := v.studio.Subject(sub.ID); info.Guidance.V != 0.6 {
		t.Fatalf("guidance not saved: %+v", info.Guidance)
	}
	shot(t, v, "5-subject-page")

	// Into the prompt: a chip, and the base word at the cursor.
	ui(func() {
		p.prompt.SetText("a  on the beach")
		p.prompt.CursorRow, p.prompt.CursorColumn = 0, 2
		test.Tap(findButton(pg.root, "Use in prompt"))
	})
	if got := p.prompt.Text; got != "a creature on the beach" {
		t.Fatalf("prompt %q", got)
	}
	if len(p.chips.Active()) != 1 || !strings.Contains(p.chips.box.Objects[0].(*widget.Button).Text, "Rex") {
		t.Fatal("no chip")
	}
	ui(func() { test.Tap(p.generate) })
	waitLong(t, "the picture with the subject", func() bool { return len(v.gallery.Items()) == 2 })
	it := v.gallery.Items()[0]
	if len(it.Recipe.Subjects) != 1 || it.Recipe.Subjects[0].ID != sub.ID || it.Recipe.Subjects[0].V != 0.6 ||
		!strings.Contains(it.Recipe.Text(), "OneActor subjects: Rex") {
		t.Fatalf("recipe %+v", it.Recipe)
	}
	// The same seed without the subject: another picture (the offsets act).
	ui(func() {
		p.seedLock.SetChecked(true)
		p.seed.SetText(strconv.FormatInt(it.Recipe.Seed, 10))
		p.chips.Remove(sub.ID)
		test.Tap(p.generate)
	})
	waitLong(t, "the picture without the subject", func() bool { return len(v.gallery.Items()) == 3 })
	with, _ := v.studio.Image(it.ID)
	without, _ := v.studio.Image(v.gallery.Items()[0].ID)
	if n := differentPixels(with, without); n == 0 {
		t.Fatal("the subject did not change the picture at the same seed")
	} else {
		t.Logf("%d of %d pixels differ with the subject at seed %d", n, with.Bounds().Dx()*with.Bounds().Dy(), it.Recipe.Seed)
	}

	// The gallery filtered by the subject.
	ui(func() { test.Tap(findButton(pg.root, "Its pictures")) })
	waitLong(t, "the filtered gallery", func() bool { return len(v.gallery.Items()) == 1 && v.gallery.SubjectFilter() == sub.ID })
	if v.gallery.Items()[0].ID != it.ID || v.gallery.subjectSel.Selected != "Rex" || v.viewerOpen() {
		t.Fatal("the filter shows another picture")
	}
	shot(t, v, "6-gallery-filtered")
	ui(func() { v.gallery.subjectSel.SetSelected(allSubjects) })
	waitLong(t, "the whole gallery", func() bool { return len(v.gallery.Items()) == 3 })

	// A picture dropped on the window: "make a subject of this" casts the
	// auxiliaries around it (not tuned here).
	photo := filepath.Join(t.TempDir(), "my-creature.png")
	if err := v.studio.Export(it.ID, photo); err != nil {
		t.Fatal(err)
	}
	ui(func() { v.HandleDrop([]string{photo}) })
	waitLong(t, "the offer", func() bool { return v.subj.offer.Visible() })
	ui(func() {
		if o := topOverlay(v.win); o != nil { // the picture's recipe: not reused here
			test.Tap(findButton(o, "No"))
		}
		test.Tap(v.subj.offer)
	})
	pf := v.subj.flow
	if pf == f || pf.photoID == "" {
		t.Fatal("no photo flow")
	}
	ui(func() { pf.name.SetText("Dropped") })
	waitLong(t, "the base word", func() bool { return !pf.castBtn.Disabled() })
	ui(func() { test.Tap(pf.castBtn) })
	waitLong(t, "the photo and 10 auxiliaries", func() bool { return len(pf.cells) == 11 && pf.target == 0 && !pf.tuneBtn.Disabled() })
	shot(t, v, "7-photo-subject")
	t.Logf("end to end in %s", time.Since(start).Round(100*time.Millisecond))
}
