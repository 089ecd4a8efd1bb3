//go:build ci

package gui

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/service"
)

// makeTestSubject casts and tunes a subject through the studio (2 steps).
func makeTestSubject(t *testing.T, v *MainView, model, name string) string {
	t.Helper()
	return makeTestSubjectOn(t, v, model, name, "a creature", "creature")
}

// makeTestSubjectOn is makeTestSubject with its own base prompt and word.
func makeTestSubjectOn(t *testing.T, v *MainView, model, name, basePrompt, word string) string {
	t.Helper()
	done := make(chan service.Job, 8)
	unsub := v.studio.Subscribe(func(e service.JobEvent) {
		if e.Job.Finished() && e.Job.Subject != nil && e.Job.Subject.Kind != service.SubjectPreview {
			done <- e.Job
		}
	})
	defer unsub()
	if _, err := v.studio.CastSubject(service.CastRequest{ModelRef: model, BasePrompt: basePrompt, BaseWord: word, Seed: 1, N: 3}); err != nil {
		t.Fatal(err)
	}
	j := <-done
	if j.State != service.JobDone {
		t.Fatalf("cast %+v", j)
	}
	if _, err := v.studio.TuneSubject(service.TuneRequest{CastID: j.Subject.CastID, Target: 1, Name: name, Steps: 2}); err != nil {
		t.Fatal(err)
	}
	if j = <-done; j.State != service.JobDone {
		t.Fatalf("tune %+v", j)
	}
	return j.Subject.SubjectID
}

func TestNewSubjectBaseWordSuggestions(t *testing.T) {
	v, _ := testMain(t)
	ui(func() { v.subj.OpenFlow("") })
	f := v.subj.flow
	ui(func() { f.basePrompt.SetText("a photo of a creatureling") })
	if f.baseWord.Text != "creatureling" {
		t.Fatalf("base word %q follows the prompt's last word", f.baseWord.Text)
	}
	waitFor(t, func() bool { return strings.Contains(f.wordNote.Text, "not one token") && len(f.suggest.Objects) > 1 })
	if !f.castBtn.Disabled() || strings.Contains(f.wordNote.Text, "</w>") {
		t.Fatalf("cast enabled with a two-token word, or raw pieces: %q", f.wordNote.Text)
	}
	var pick *widget.Button
	for _, o := range f.suggest.Objects {
		if b, ok := o.(*widget.Button); ok && b.Text == "creature" {
			pick = b
		}
	}
	if pick == nil {
		t.Fatal("“creature” not suggested")
	}
	ui(func() { test.Tap(pick) })
	waitFor(t, func() bool { return f.wordOK && !f.castBtn.Disabled() })
	if f.basePrompt.Text != "a photo of a creature" || f.baseWord.Text != "creature" {
		t.Fatalf("suggestion applied: %q / %q", f.basePrompt.Text, f.baseWord.Text)
	}
	// A word typed by hand is kept when the prompt changes; a word not in
	// the prompt is refused.
	ui(func() { f.baseWord.SetText("ball") })
	ui(func() { f.basePrompt.SetText("a creature on a mat") })
	waitFor(t, func() bool { return strings.HasPrefix(f.wordNote.Text, "✗") && f.castBtn.Disabled() })
	if f.baseWord.Text != "ball" {
		t.Fatalf("typed word replaced: %q", f.baseWord.Text)
	}
}

func TestNewSubjectCancelTuning(t *testing.T) {
	v, _ := testMain(t)
	ui(func() { v.subj.OpenFlow("") })
	f := v.subj.flow
	ui(func() {
		f.name.SetText("Gone")
		f.basePrompt.SetText("a creature")
		f.count.SetText("3")
		f.steps.SetText("2000")
	})
	waitFor(t, func() bool { return !f.castBtn.Disabled() })
	ui(func() { test.Tap(f.castBtn) })
	waitLong(t, "candidates", func() bool { return len(f.cells) == 3 })
	ui(func() {
		test.Tap(f.cells[1])
		test.Tap(f.moreBtn)
	})
	waitLong(t, "4 more candidates", func() bool { return len(f.cells) == 7 && f.castJob == "" })
	if f.target != 1 || !f.cells[1].picked {
		t.Fatalf("the pick was lost: %d", f.target)
	}
	ui(func() { test.Tap(f.tuneBtn) })
	waitLong(t, "tuning steps", func() bool { return len(f.plot.values) >= 2 })
	if !f.Busy() || f.cancelBtn.Disabled() || !f.castBtn.Disabled() {
		t.Fatal("buttons while tuning")
	}
	// Away from the flow, the subjects column shows the tuning and leads back.
	ui(func() { v.showGallery() })
	waitFor(t, func() bool {
		return v.subj.progress.Visible() && strings.Contains(v.subj.progress.Text, "Tuning Gone: step")
	})
	ui(func() { test.Tap(v.subj.progress) })
	if v.subj.flow != f || v.centre.Objects[0] != f.Object() {
		t.Fatal("the progress line did not lead back to the flow")
	}
	ui(func() { test.Tap(f.cancelBtn) })
	waitLong(t, "the cancel", func() bool { return strings.Contains(f.tuneText.Text, "no subject was saved") })
	if subs, _ := v.studio.Subjects(); len(subs) != 0 || f.tuneBtn.Disabled() || v.subj.progress.Visible() {
		t.Fatalf("%d subjects after cancel; Tune disabled %v", len(subs), f.tuneBtn.Disabled())
	}
}

func TestSubjectFromDroppedPhoto(t *testing.T) {
	v, _ := testMain(t)
	photo := filepath.Join(t.TempDir(), "mascot.png")
	img := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	if err := imageio.WritePNGFile(photo, img); err != nil {
		t.Fatal(err)
	}
	ui(func() { v.HandleDrop([]string{photo}) })
	waitFor(t, func() bool { return v.subj.offer.Visible() && strings.Contains(v.subj.offer.Text, "mascot.png") })
	if topOverlay(v.win) != nil {
		t.Fatal("a drop opened a dialog")
	}
	ui(func() { test.Tap(v.subj.offer) })
	f := v.subj.flow
	if f == nil || f.photoID == "" || v.subj.offer.Visible() {
		t.Fatal("the offer did not open the flow for the photo")
	}
	ui(func() {
		f.name.SetText("Mascot")
		f.basePrompt.SetText("a creature")
		f.count.SetText("2")
		f.steps.SetText("2")
	})
	waitFor(t, func() bool { return !f.castBtn.Disabled() })
	ui(func() { test.Tap(f.castBtn) })
	waitLong(t, "the photo and 2 auxiliaries", func() bool { return len(f.cells) == 3 })
	ui(func() { test.Tap(f.cells[2]) }) // the photo is the target; others cannot be picked
	if f.target != 0 || f.tuneBtn.Disabled() {
		t.Fatalf("target %d", f.target)
	}
	ui(func() {
		f.lowMemory.SetChecked(true) // rows one UNet call at a time
		test.Tap(f.tuneBtn)
	})
	waitLong(t, "the subject", func() bool { return f.Done() && len(v.subj.Subjects()) == 1 })
	if s := v.subj.Subjects()[0]; s.Name != "Mascot" || s.Auxiliaries != 2 {
		t.Fatalf("subject %+v", s)
	}
	// References offer the same action.
	waitFor(t, func() bool { return len(v.refs.Items()) == 1 })
	ui(func() {
		var b *widget.Button
		for _, o := range test.LaidOutObjects(v.refs.list) {
			if x, ok := o.(*widget.Button); ok && x.OnTapped != nil {
				b = x
			}
		}
		if b == nil {
			t.Fatal("no make-a-subject button on the reference")
		}
		test.Tap(b)
	})
	if v.subj.flow == f || v.subj.flow.photoID == "" {
		t.Fatal("the reference's button did not open a new flow for it")
	}
}

func TestSubjectPageActions(t *testing.T) {
	v, model := testMain(t)
	id := makeTestSubject(t, v, model, "Rex")
	ui(func() { v.subj.Reload(nil) })
	waitFor(t, func() bool { return len(v.subj.Subjects()) == 1 })
	ui(func() { v.subj.column.Select(0) })
	p := v.subj.page
	waitLong(t, "the page and its preview", func() bool {
		return p.info.ID == id && len(p.aux.Objects) == 2 && strings.Contains(p.previewText.Text, "not saved")
	})
	if !locked(func() bool { return len(p.preview.Objects) == previewPictures && !p.problem.Visible() }) {
		t.Fatalf("%d preview pictures, problem %q", len(p.preview.Objects), p.problem.Text)
	}

	// Sliders: η2 is kept ≤ η1; the values are stored.
	ui(func() {
		p.eta1.SetValue(2)
		p.eta2.SetValue(4)
		p.guidanceChanged()
	})
	waitLong(t, "the guidance to be stored", func() bool { s, _ := v.studio.Subject(id); return s.Guidance.Eta1 == 2 && s.Guidance.Eta2 == 2 })

	// Rename through the dialog.
	ui(func() { test.Tap(findButton(p.root, "Rename")) })
	waitFor(t, func() bool { return topOverlay(v.win) != nil })
	ui(func() {
		var entry *widget.Entry
		for _, o := range test.LaidOutObjects(topOverlay(v.win)) {
			if e, ok := o.(*widget.Entry); ok {
				entry = e
			}
		}
		entry.SetText("Rex II")
		test.Tap(findButton(topOverlay(v.win), "Rename"))
	})
	waitFor(t, func() bool {
		return len(v.subj.Subjects()) == 1 && v.subj.Subjects()[0].Name == "Rex II" && p.title.Text == "Rex II"
	})

	// Export, then delete (confirmed), then import the bundle again.
	bundle := filepath.Join(t.TempDir(), "rex.oneactor")
	ui(func() { p.Export(bundle) })
	waitFor(t, func() bool {
		_, err := os.Stat(bundle)
		return err == nil && strings.Contains(v.status.Text, "Exported")
	})
	ui(func() { v.panel.chips.Add(id) })
	if !locked(func() bool { return len(v.panel.chips.Active()) == 1 }) {
		t.Fatal("no chip")
	}
	ui(func() { test.Tap(findButton(p.root, "Delete")) })
	waitFor(t, func() bool { return strings.Contains(overlayText(v.win), "Delete Rex II?") })
	ui(func() { test.Tap(findButton(topOverlay(v.win), "Yes")) })
	waitFor(t, func() bool { return len(v.subj.Subjects()) == 0 && !v.subj.empty.Hidden })
	if !locked(func() bool {
		return len(v.panel.chips.Active()) == 0 && !v.viewerOpen() && v.centre.Objects[0] == v.gallery.Object()
	}) {
		t.Fatal("after delete: chip kept or the page still shown")
	}
	ui(func() { v.subj.Import(bundle, false) })
	waitFor(t, func() bool { return len(v.subj.Subjects()) == 1 && v.subj.Subjects()[0].Name == "Rex II" })

	// With another model chosen, the bundle is kept only when the user
	// agrees, marked; its page says why it cannot be drawn.
	ui(func() { v.panel.modelSel.SetSelected(v.panel.modelSel.Options[0]) })
	waitLong(t, "ToyWorld", func() bool { return v.panel.model.Ref == service.BundledModel })
	var rexII string
	ui(func() { rexII = v.subj.Subjects()[0].ID })
	waitFor(t, func() bool { return v.panel.chips.problems[rexII] != "" })
	ui(func() { v.panel.chips.Add(rexII) })
	if !locked(func() bool {
		return len(v.panel.chips.Active()) == 0 && strings.Contains(v.status.Text, "another model")
	}) {
		t.Fatalf("a subject of another model went into the prompt (status %q)", v.status.Text)
	}
	ui(func() { v.subj.Import(bundle, false) })
	waitFor(t, func() bool { return strings.Contains(overlayText(v.win), "tuned for another model") })
	ui(func() { test.Tap(findButton(topOverlay(v.win), "Yes")) })
	waitFor(t, func() bool { return len(v.subj.Subjects()) == 2 })
	var other string
	ui(func() {
		for _, s := range v.subj.Subjects() {
			if s.Incompatible {
				other = s.ID
			}
		}
	})
	if other == "" {
		t.Fatal("the bundle for another model is not marked")
	}
	ui(func() { v.subj.OpenPage(other) })
	p = v.subj.page
	waitLong(t, "the page", func() bool { return p.info.ID == other && p.problem.Visible() })
	if !locked(func() bool {
		return p.use.Disabled() && p.previewBtn.Disabled() && strings.Contains(p.problem.Text, "another model")
	}) {
		t.Fatalf("page of a subject of another model: %q", p.problem.Text)
	}
}

func TestSubjectChipsInsertTheBaseWord(t *testing.T) {
	v, model := testMain(t)
	id := makeTestSubject(t, v, model, "Rex")
	ui(func() { v.subj.Reload(nil) })
	waitFor(t, func() bool { return len(v.panel.chips.all) == 1 })
	p := v.panel
	// check runs f with the views still (workers refresh the chips).
	check := func(what string, f func() bool) {
		t.Helper()
		if !locked(f) {
			t.Fatalf("%s: prompt %q, %d chips", what, p.prompt.Text, len(p.chips.Active()))
		}
	}
	chip := func() *widget.Button { return p.chips.box.Objects[0].(*widget.Button) }
	ui(func() { p.chips.Add(id) }) // empty prompt: the base prompt
	check("added", func() bool {
		return p.prompt.Text == "a creature" && chip().Importance == widget.HighImportance && strings.Contains(chip().Text, "Rex")
	})
	ui(func() { p.prompt.SetText("a red ball") })
	check("word missing", func() bool {
		return chip().Importance == widget.WarningImportance && strings.Contains(chip().Text, "missing")
	})
	ui(func() {
		p.prompt.CursorRow, p.prompt.CursorColumn = 0, 5
		p.chips.Add(id) // already active: only the word goes in, at the cursor
	})
	check("inserted at the cursor", func() bool { return p.prompt.Text == "a red creature ball" && len(p.chips.Active()) == 1 })
	var r service.Recipe
	var err error
	ui(func() { r, err = p.Recipe() })
	if err != nil || len(r.Subjects) != 1 || r.Subjects[0].ID != id || r.Subjects[0].V != 0.8 {
		t.Fatalf("recipe %+v %v", r.Subjects, err)
	}
	// × takes a chip out; reuse settings puts the recipe's subjects back.
	ui(func() { test.Tap(chip()) })
	check("× removed it", func() bool { return len(p.chips.Active()) == 0 })
	ui(func() { p.Apply(r) })
	check("reused", func() bool { return len(p.chips.Active()) == 1 })
	// A picture from elsewhere names its subjects in its PNG text.
	ui(func() {
		p.Apply(service.RecipeFromParameters("a creature at night\nSteps: 10, Sampler: Euler, CFG scale: 7, Seed: 3, Size: 32x32, " +
			"OneActor subjects: rex, OneActor v/eta1/eta2: 0.5/6/0"))
	})
	check("from a PNG text", func() bool { a := p.chips.Active(); return len(a) == 1 && a[0].ID == id })
	ui(func() {
		p.Apply(service.RecipeFromParameters("a creature\nSteps: 10, Seed: 3, OneActor subjects: Nobody"))
	})
	check("unknown subject", func() bool {
		return len(p.chips.Active()) == 0 && strings.Contains(v.status.Text, "Nobody is not in your library")
	})
	if hasWord("creatures", "creature") || !hasWord("A Creature, here", "creature") {
		t.Fatal("hasWord")
	}
}

// TestLossPlotGolden draws a fixed noisy, falling curve halfway through
// its step budget: the faint per-step losses, the bold running average,
// a spike clipped to the top edge, and the axis labels.
func TestLossPlotGolden(t *testing.T) {
	test.NewTempApp(t)
	var values []float64
	for i := range 60 {
		v := 0.3*math.Exp(-float64(i)/25) + 0.05 + 0.04*math.Sin(float64(i)*1.7)
		if i == 31 {
			v = 2 // a step that drew a large t
		}
		values = append(values, v)
	}
	p := newLossPlot(120)
	p.Set(values, 120)
	w := test.NewTempWindow(t, p.Object())
	w.Resize(fyne.NewSize(360, 140))
	test.AssertImageMatches(t, "subject_loss_plot.png", w.Canvas().Capture())
	if hi := p.top.Text; hi == "2" {
		t.Errorf("the spike sets the range (%s)", hi)
	}
}

// TestSubjectPreviewKeepsTheNewest: slider moves in quick succession (each
// saves the values and asks for a preview) end with the preview of the
// last values; older previews are cancelled or ignored.
func TestSubjectPreviewKeepsTheNewest(t *testing.T) {
	v, model := testMain(t)
	id := makeTestSubject(t, v, model, "Rex")
	ui(func() { v.subj.OpenPage(id) })
	p := v.subj.page
	waitLong(t, "the first preview", func() bool { return strings.Contains(p.previewText.Text, "not saved") })
	ui(func() {
		for _, x := range []float64{0.1, 0.3, 0.5} {
			p.v.SetValue(x) // fires OnChangeEnded: save, then preview
		}
	})
	waitLong(t, "the last preview", func() bool {
		return p.previewJob == "" && strings.Contains(p.previewText.Text, "v 0.50") && strings.Contains(p.previewText.Text, "not saved")
	})
	time.Sleep(500 * time.Millisecond)
	if !locked(func() bool { return strings.Contains(p.previewText.Text, "v 0.50") }) {
		t.Fatalf("an older preview replaced the newest: %q", p.previewText.Text)
	}
	if s, _ := v.studio.Subject(id); s.Guidance.V != 0.5 {
		t.Fatalf("stored v %g", s.Guidance.V)
	}
}

// TestClosingWhileTuning: closing the window cancels the tuning; nothing
// of the subject is kept and the next start reports no interrupted job.
func TestClosingWhileTuning(t *testing.T) {
	v, model := testMain(t)
	done := make(chan service.Job, 4)
	v.studio.Subscribe(func(e service.JobEvent) {
		if e.Job.Finished() && e.Job.Subject != nil {
			done <- e.Job
		}
	})
	if _, err := v.studio.CastSubject(service.CastRequest{ModelRef: model, BasePrompt: "a creature", BaseWord: "creature", Seed: 1, N: 2}); err != nil {
		t.Fatal(err)
	}
	j := <-done
	started := make(chan struct{}, 1)
	v.studio.Subscribe(func(e service.JobEvent) {
		if w := e.Job.Subject; w != nil && w.Kind == service.SubjectTune && len(w.Losses) == 1 {
			started <- struct{}{}
		}
	})
	if _, err := v.studio.TuneSubject(service.TuneRequest{CastID: j.Subject.CastID, Target: 0, Name: "Gone", Steps: 5000}); err != nil {
		t.Fatal(err)
	}
	<-started
	start := time.Now()
	v.win.Close() // not under the UI lock: the worker's last updates need it (the desktop driver queues them)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("closing took %s", d)
	}
	if j = <-done; j.State != service.JobCancelled {
		t.Fatalf("tune %+v", j)
	}
	st, err := service.New(service.Config{DataDir: v.backend.DataDir()}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	subs, _ := st.Subjects()
	interrupted, _ := st.TakeInterruptedJobs()
	if len(subs) != 0 || len(interrupted) != 0 {
		t.Fatalf("%d subjects, interrupted %v", len(subs), interrupted)
	}
}

// TestTwoSubjectsInOnePrompt: each subject at its own base word, each
// with its own v; the picture is found under either subject.
func TestTwoSubjectsInOnePrompt(t *testing.T) {
	v, model := testMain(t)
	rex := makeTestSubject(t, v, model, "Rex")
	hat := makeTestSubjectOn(t, v, model, "Topper", "a red hat", "hat")
	if err := v.studio.SetSubjectGuidance(hat, service.Guidance{V: 0.4, Eta1: 8.5, Eta2: 1}); err != nil {
		t.Fatal(err)
	}
	ui(func() { v.subj.Reload(nil) })
	waitFor(t, func() bool { return len(v.panel.chips.all) == 2 })
	p := v.panel
	ui(func() {
		p.prompt.SetText("a creature with a")
		p.prompt.CursorRow, p.prompt.CursorColumn = 0, len("a creature with a")
		p.chips.Add(rex)
		p.chips.Add(hat)
		p.steps.SetText("4")
	})
	if !locked(func() bool { return p.prompt.Text == "a creature with a hat" && len(p.chips.Active()) == 2 }) {
		t.Fatalf("prompt %q", p.prompt.Text)
	}
	ui(func() { test.Tap(p.generate) })
	waitLong(t, "the picture", func() bool { return len(v.gallery.Items()) == 1 })
	var it service.Item
	ui(func() { it = v.gallery.Items()[0] })
	u := it.Recipe.Subjects
	if len(u) != 2 || u[0].ID != rex || u[1].ID != hat || u[0].V != 0.8 || u[1].V != 0.4 || u[1].Name != "Topper" {
		t.Fatalf("recipe subjects %+v", u)
	}
	for _, id := range []string{rex, hat} {
		items, err := v.studio.Gallery(service.GalleryFilter{SubjectID: id})
		if err != nil || len(items) != 1 {
			t.Fatalf("gallery of %s: %d %v", id, len(items), err)
		}
	}
}
