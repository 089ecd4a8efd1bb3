package service

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/oneactor"
	"github.com/oneactor/oneactor-desktop/storage"
)

// TestStudioSubjectFlow is the GUI's path through the studio: cast
// candidates as a job, tune one of them (loss per step), draw it in a
// generation (the recipe records it), filter the gallery by it, preview,
// rename, guidance, export/import, delete.
func TestStudioSubjectFlow(t *testing.T) {
	st, model := testStudio(t)
	var ev events
	defer st.Subscribe(ev.add)()

	var bw *BaseWordProblem
	if err := st.CheckBaseWord(model, "a creatureling", "creatureling"); !errors.As(err, &bw) || !strings.Contains(bw.Message, "not one token") ||
		strings.Contains(bw.Message, "</w>") {
		t.Fatalf("multi-token word: %v", err)
	}
	if err := st.CheckBaseWord(model, "a red ball", "creature"); !errors.As(err, &bw) || !strings.Contains(bw.Message, "does not contain") {
		t.Fatalf("word not in prompt: %v", err)
	}
	if err := st.CheckBaseWord(model, "a creature", "creature"); err != nil {
		t.Fatal(err)
	}

	id, err := st.CastSubject(CastRequest{ModelRef: model, BasePrompt: "a creature", BaseWord: "creature", Seed: 3, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	j := ev.wait(t, id)
	if j.State != JobDone || j.Subject == nil || j.Subject.CastID == "" {
		t.Fatalf("cast job %+v", j)
	}
	c, ok := st.Casting(j.Subject.CastID)
	if !ok || len(c.Candidates) != 4 || c.Seeds[2] != 5 || c.Fixed != -1 {
		t.Fatalf("casting %+v", c)
	}
	// More candidates: the old ones first, then seeds after them.
	id, err = st.CastMore(c.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	j = ev.wait(t, id)
	more, ok := st.Casting(j.Subject.CastID)
	if j.State != JobDone || !ok || len(more.Candidates) != 6 || more.Seeds[4] != 7 || more.Candidates[0] != c.Candidates[0] {
		t.Fatalf("more candidates %+v", more)
	}
	if _, err := st.TuneSubject(TuneRequest{CastID: c.ID, Target: 1}); err == nil {
		t.Fatal("a subject without a name was accepted")
	}
	id, err = st.TuneSubject(TuneRequest{CastID: c.ID, Target: 1, Name: "Rex", Steps: 3})
	if err != nil {
		t.Fatal(err)
	}
	j = ev.wait(t, id)
	if j.State != JobDone || j.Subject.SubjectID == "" || len(j.Subject.Losses) != 3 {
		t.Fatalf("tune job %+v / %+v", j, j.Subject)
	}
	subID := j.Subject.SubjectID
	info, err := st.Subject(subID)
	if err != nil || info.Name != "Rex" || info.BaseWord != "creature" || info.Auxiliaries != 3 || len(info.LossCurve) != 3 ||
		info.Guidance != DefaultSubjectGuidance() {
		t.Fatalf("subject %+v %v", info, err)
	}
	target, aux, err := st.SubjectPictures(subID)
	if err != nil || target == nil || len(aux) != 3 {
		t.Fatalf("pictures %v %d %v", target, len(aux), err)
	}
	if p := st.SubjectProblem(subID, model); p != "" {
		t.Fatal(p)
	}

	// Generation with the subject: the prompt must hold its word.
	r := smallRecipe(model)
	r.Prompt, r.N = "a red ball", 1
	r.Subjects = []SubjectUse{{ID: subID}}
	if _, err := st.Submit(r); err == nil || !strings.Contains(err.Error(), "must contain") {
		t.Fatalf("prompt without the base word: %v", err)
	}
	r.Prompt = "a creature on the beach"
	r.Subjects = []SubjectUse{{ID: subID}, {ID: subID}}
	if _, err := st.Submit(r); err == nil {
		t.Fatal("a subject used twice was accepted")
	}
	r.Subjects = []SubjectUse{{ID: subID}}
	id, err = st.Submit(r)
	if err != nil {
		t.Fatal(err)
	}
	if j = ev.wait(t, id); j.State != JobDone {
		t.Fatalf("generation %+v", j)
	}
	plain := smallRecipe(model)
	plain.N = 1
	id, _ = st.Submit(plain)
	ev.wait(t, id)
	all, _ := st.Gallery(GalleryFilter{})
	with, _ := st.Gallery(GalleryFilter{SubjectID: subID})
	if len(all) != 2 || len(with) != 1 {
		t.Fatalf("gallery %d, with the subject %d", len(all), len(with))
	}
	u := with[0].Recipe.Subjects
	if len(u) != 1 || u[0].Name != "Rex" || u[0].V != 0.8 || !strings.Contains(with[0].Recipe.Text(), "OneActor subjects: Rex, OneActor v/eta1/eta2: 0.8/8.5/1") {
		t.Fatalf("recipe subjects %+v\n%s", u, with[0].Recipe.Text())
	}

	// Guidance settings and a preview with them.
	if err := st.SetSubjectGuidance(subID, Guidance{V: 0.5, Eta1: 7, Eta2: 9}); err == nil {
		t.Fatal("η2 > η1 accepted")
	}
	g := Guidance{V: 0.5, Eta1: 7, Eta2: 0}
	if err := st.SetSubjectGuidance(subID, g); err != nil {
		t.Fatal(err)
	}
	if info, _ = st.Subject(subID); info.Guidance != g {
		t.Fatalf("guidance %+v", info.Guidance)
	}
	id, err = st.PreviewSubject(PreviewRequest{SubjectID: subID, ModelRef: model, Seed: 1, N: 2, Steps: 3, Guidance: g})
	if err != nil {
		t.Fatal(err)
	}
	if j = ev.wait(t, id); j.State != JobDone || len(j.Subject.Pictures) != 2 {
		t.Fatalf("preview %+v", j)
	}
	if again, _ := st.Gallery(GalleryFilter{}); len(again) != 2 {
		t.Fatalf("a preview was saved in the gallery (%d items)", len(again))
	}

	// Rename, export, delete, import.
	if err := st.RenameSubject(subID, "  "); err == nil {
		t.Fatal("empty name accepted")
	}
	if err := st.RenameSubject(subID, "Rex II"); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "rex.oneactor")
	if err := st.ExportSubject(subID, bundle); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSubject(subID); err != nil {
		t.Fatal(err)
	}
	if subs, _ := st.Subjects(); len(subs) != 0 {
		t.Fatalf("%d subjects after delete", len(subs))
	}
	if with, _ = st.Gallery(GalleryFilter{SubjectID: subID}); len(with) != 1 || with[0].Recipe.Subjects[0].Name != "(deleted subject)" {
		t.Fatalf("pictures of a deleted subject %+v", with)
	}
	back, err := st.ImportSubject(bundle, model, false)
	if err != nil || back.Name != "Rex II" || back.Incompatible {
		t.Fatalf("import %+v %v", back, err)
	}
	var other *OtherModelError
	twin, err := st.ImportSubject(bundle, "", false)
	if err != nil {
		t.Fatalf("import without a model check: %v", err)
	}
	// Two subjects on one word cannot share a prompt.
	r.Subjects = []SubjectUse{{ID: back.ID}, {ID: twin.ID}}
	if _, err := st.Submit(r); err == nil || !strings.Contains(err.Error(), "both act on the word “creature”") {
		t.Fatalf("two subjects on one word: %v", err)
	}
	if _, err := st.ImportSubject(filepath.Join(t.TempDir(), "none.oneactor"), model, false); err == nil || errors.As(err, &other) {
		t.Fatalf("missing bundle: %v", err)
	}
}

// TestCastFromPhoto makes a subject of a picture file: it is candidate 0
// and the fixed target.
func TestCastFromPhoto(t *testing.T) {
	st, model := testStudio(t)
	var ev events
	defer st.Subscribe(ev.add)()
	photo := filepath.Join(t.TempDir(), "photo.png")
	writeTestPNG(t, photo, 48, 40)
	id, err := st.CastSubject(CastRequest{ModelRef: model, BasePrompt: "a creature", BaseWord: "creature", Seed: 1, N: 3, Photo: photo})
	if err != nil {
		t.Fatal(err)
	}
	j := ev.wait(t, id)
	if j.State != JobDone {
		t.Fatalf("photo cast %+v", j)
	}
	c, _ := st.Casting(j.Subject.CastID)
	if c.Fixed != 0 || len(c.Candidates) != 3 || c.Candidates[0].Bounds().Dx() != c.Candidates[1].Bounds().Dx() {
		t.Fatalf("casting %+v", c)
	}
	if _, err := st.TuneSubject(TuneRequest{CastID: c.ID, Target: 1, Name: "P", Steps: 1}); err == nil {
		t.Fatal("another target than the photo accepted")
	}
	id, _ = st.TuneSubject(TuneRequest{CastID: c.ID, Target: 0, Name: "P", Steps: 2})
	if j = ev.wait(t, id); j.State != JobDone {
		t.Fatalf("tune %+v", j)
	}
	// The same from a reference picture in the library.
	ref, err := st.ImportReference(photo)
	if err != nil {
		t.Fatal(err)
	}
	id, _ = st.CastSubject(CastRequest{ModelRef: model, BasePrompt: "a creature", BaseWord: "creature", Seed: 1, N: 2, PhotoID: ref.ID})
	if j = ev.wait(t, id); j.State != JobDone {
		t.Fatalf("cast from a reference %+v", j)
	}
}

// TestTuneCancel: a cancelled tune stores nothing.
func TestTuneCancel(t *testing.T) {
	st, model := testStudio(t)
	var ev events
	defer st.Subscribe(ev.add)()
	id, _ := st.CastSubject(CastRequest{ModelRef: model, BasePrompt: "a creature", BaseWord: "creature", Seed: 1, N: 2})
	j := ev.wait(t, id)
	unsub := st.Subscribe(func(e JobEvent) {
		if w := e.Job.Subject; w != nil && w.Kind == SubjectTune && len(w.Losses) == 1 && e.Job.State == JobRunning {
			go st.Cancel(e.Job.ID)
		}
	})
	defer unsub()
	tuneID, _ := st.TuneSubject(TuneRequest{CastID: j.Subject.CastID, Target: 0, Name: "Gone", Steps: 500})
	if j = ev.wait(t, tuneID); j.State != JobCancelled {
		t.Fatalf("tune %+v", j)
	}
	if subs, _ := st.Subjects(); len(subs) != 0 {
		t.Fatalf("%d subjects after a cancelled tune", len(subs))
	}
}

func writeTestPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 5), uint8(y * 6), 90, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := imageio.EncodePNG(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestSubjectGenerationMatchesTheCLIPath: a job with a subject (its v
// applied per subject in the service) makes the same picture as the
// engine driven directly with oneactor.NewGuidance at that v (the CLI's
// path).
func TestSubjectGenerationMatchesTheCLIPath(t *testing.T) {
	st, model := testStudio(t)
	var ev events
	defer st.Subscribe(ev.add)()
	id, _ := st.CastSubject(CastRequest{ModelRef: model, BasePrompt: "a creature", BaseWord: "creature", Seed: 2, N: 3})
	j := ev.wait(t, id)
	id, _ = st.TuneSubject(TuneRequest{CastID: j.Subject.CastID, Target: 0, Name: "Rex", Steps: 3})
	subID := ev.wait(t, id).Subject.SubjectID

	g := Guidance{V: 0.7, Eta1: 6, Eta2: 1.5}
	r := smallRecipe(model)
	r.Prompt, r.N, r.Seed = "a creature on the beach", 1, 11
	r.Subjects = []SubjectUse{{ID: subID, Guidance: g}}
	id, err := st.Submit(r)
	if err != nil {
		t.Fatal(err)
	}
	j = ev.wait(t, id)
	viaJob, err := st.Image(j.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}

	s, _ := st.lib.Subject(subID)
	f, _ := st.facts(model)
	offs, err := SubjectOffsets([]*storage.Subject{s}, f.fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := r.request(f.info)
	if err != nil {
		t.Fatal(err)
	}
	cfg := oneactor.DefaultGuidance()
	cfg.V, cfg.Eta1, cfg.Eta2 = g.V, g.Eta1, g.Eta2
	tok, _ := st.tokenizer(model)
	req.Guidance = oneactor.NewGuidance(tok, r.Prompt, offs, cfg)
	res, err := st.svc.Generate(context.Background(), model, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	var direct bytes.Buffer
	if err := imageio.EncodePNG(&direct, res.Images[0]); err != nil {
		t.Fatal(err)
	}
	back, _, _ := imageio.DecodeBytes(direct.Bytes())
	// Equal here (amd64); 2 levels of slack for a platform that fuses
	// the multiply-add inside the guidance.
	if d := maxChannelDiff(viaJob, back); d > 2 {
		t.Fatalf("the job's picture differs from the direct guidance at the same seed (by %d levels)", d)
	}
}

func maxChannelDiff(a, b image.Image) int {
	m := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			p, q := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA), color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			for _, d := range []int{int(p.R) - int(q.R), int(p.G) - int(q.G), int(p.B) - int(q.B)} {
				m = max(m, d, -d)
			}
		}
	}
	return m
}
