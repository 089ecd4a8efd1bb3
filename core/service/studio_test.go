package service

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/imageio"
)

// testStudio opens a studio on a fresh data folder with a tiny model folder.
func testStudio(t *testing.T) (*Studio, string) {
	t.Helper()
	model := t.TempDir()
	difftest.WriteFolder(t, model, filepath.Join("..", ".."), difftest.Optimum)
	st, err := New(Config{DataDir: t.TempDir()}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, model
}

// events collects a studio's job events.
type events struct {
	mu  sync.Mutex
	all []JobEvent
}

func (e *events) add(ev JobEvent) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

// wait returns the final event of job id.
func (e *events) wait(t *testing.T, id string) Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		for _, ev := range e.all {
			if ev.Job.ID == id && ev.Job.Finished() {
				e.mu.Unlock()
				return ev.Job
			}
		}
		e.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish", id)
	return Job{}
}

func smallRecipe(model string) Recipe {
	r := DefaultRecipe()
	r.ModelRef, r.Prompt, r.Steps, r.N, r.Seed, r.Width, r.Height = model, "a red creature on the beach", 4, 2, 7, 32, 32
	return r
}

func TestJobSavesPicturesWithRecipes(t *testing.T) {
	st, model := testStudio(t)
	var ev events
	defer st.Subscribe(ev.add)()
	id, err := st.Submit(smallRecipe(model))
	if err != nil {
		t.Fatal(err)
	}
	j := ev.wait(t, id)
	if j.State != JobDone || len(j.Items) != 2 {
		t.Fatalf("job %+v", j)
	}
	var previews, steps int
	for _, e := range ev.all {
		if e.Job.ID == id && e.Job.State == JobRunning && e.Job.Step > 0 {
			steps++
			if len(e.Preview) == 2 {
				previews++
			}
		}
	}
	if steps != 4 || previews == 0 {
		t.Errorf("%d step events, %d with previews", steps, previews)
	}
	items, err := st.Gallery(GalleryFilter{})
	if err != nil || len(items) != 2 {
		t.Fatalf("gallery %d items, %v", len(items), err)
	}
	// Newest first: image 1 of the batch (seed 8) was saved last.
	if items[0].Recipe.Seed != 8 || items[1].Recipe.Seed != 7 || items[0].Recipe.Prompt != "a red creature on the beach" ||
		items[0].Recipe.ModelFingerprint == "" || items[0].Recipe.Sampler != "Euler" {
		t.Fatalf("recipes %+v / %+v", items[0].Recipe, items[1].Recipe)
	}
	img, err := st.Image(items[0].ID)
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("image %v, %v", img, err)
	}
	out := filepath.Join(t.TempDir(), "x.png")
	if err := st.Export(items[0].ID, out); err != nil {
		t.Fatal(err)
	}
	if err := st.Export(items[0].ID, out); err == nil {
		t.Error("export replaced an existing file")
	}
	f, _ := os.Open(out)
	text, ok, err := imageio.ReadParameters(f)
	f.Close()
	if !ok || err != nil || !strings.Contains(text, "Seed: 8") {
		t.Fatalf("exported recipe %q %v", text, err)
	}

	// The same fixed seed makes the same picture.
	r := smallRecipe(model)
	r.N, r.Seed = 1, 8
	id2, _ := st.Submit(r)
	j2 := ev.wait(t, id2)
	again, _ := st.Image(j2.Items[0].ID)
	if !samePixels(img, again) {
		t.Error("seed 8 did not reproduce its picture")
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				return false
			}
		}
	}
	return true
}

func TestCancelSavesNothing(t *testing.T) {
	st, model := testStudio(t)
	var ev events
	started := make(chan string, 4)
	defer st.Subscribe(func(e JobEvent) {
		ev.add(e)
		if e.Job.State == JobRunning && e.Job.Step == 1 {
			started <- e.Job.ID
		}
	})()
	r := smallRecipe(model)
	r.Steps = 200
	id, err := st.Submit(r)
	if err != nil {
		t.Fatal(err)
	}
	queued, _ := st.Submit(smallRecipe(model))
	if js := st.Jobs(); len(js) != 2 {
		t.Fatalf("queue %+v", js)
	}
	<-started
	if !st.Cancel(queued) || !st.Cancel(id) {
		t.Fatal("cancel refused")
	}
	if j := ev.wait(t, id); j.State != JobCancelled || j.Step >= 200 {
		t.Fatalf("running job after cancel: %+v", j)
	}
	if j := ev.wait(t, queued); j.State != JobCancelled {
		t.Fatalf("queued job after cancel: %+v", j)
	}
	if items, _ := st.Gallery(GalleryFilter{}); len(items) != 0 {
		t.Fatalf("a cancelled job saved %d pictures", len(items))
	}
	if st.Cancel(id) {
		t.Error("cancelling a finished job reported success")
	}
}

func TestSubmitRefusesBadRecipes(t *testing.T) {
	st, model := testStudio(t)
	m, err := st.Model(model)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Recipe){
		"prompt":     func(r *Recipe) { r.Prompt = "  " },
		"steps":      func(r *Recipe) { r.Steps = 0 },
		"sampler":    func(r *Recipe) { r.Sampler = "Heun Turbo" },
		"multiples":  func(r *Recipe) { r.Width = m.Factor*4 + 1 },
		"ControlNet": func(r *Recipe) { r.Control = &ControlSettings{Kind: "pose", Scale: 1} },
	}
	for want, edit := range cases {
		r := smallRecipe(model)
		edit(&r)
		if _, err := st.Submit(r); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
	if _, err := st.Submit(smallRecipe(filepath.Join(model, "nope"))); err == nil {
		t.Error("a missing model folder was accepted")
	}
}

func TestSizePresetsAreMultiplesOfTheFactor(t *testing.T) {
	for _, m := range []ModelInfo{{DefaultSize: 512, Factor: 8}, {DefaultSize: 1024, Factor: 8}, {DefaultSize: 64, Factor: 8}} {
		ps := SizePresets(m)
		if ps[0] != (Size{m.DefaultSize, m.DefaultSize}) || len(ps) < 5 {
			t.Fatalf("%+v: %v", m, ps)
		}
		for _, s := range ps {
			if s.Width%m.Factor != 0 || s.Height%m.Factor != 0 {
				t.Errorf("%+v: %v", m, s)
			}
		}
	}
	if got := SizePresets(ModelInfo{DefaultSize: 512, Factor: 8})[1]; got != (Size{440, 592}) {
		t.Errorf("3:4 of 512²: %v", got)
	}
}

func TestGalleryFiltersFavouritesAndDelete(t *testing.T) {
	st, _ := testStudio(t)
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	r := DefaultRecipe()
	for _, p := range []string{"a mug on a table", "a cat", "a blue mug"} {
		r.Prompt = p
		if _, err := st.SaveImages(r, []image.Image{img}); err != nil {
			t.Fatal(err)
		}
	}
	mugs, _ := st.Gallery(GalleryFilter{Text: "MUG"})
	if len(mugs) != 2 || mugs[0].Recipe.Prompt != "a blue mug" {
		t.Fatalf("text filter: %+v", mugs)
	}
	if err := st.SetFavourite(mugs[1].ID, true); err != nil {
		t.Fatal(err)
	}
	fav, _ := st.Gallery(GalleryFilter{Favourites: true})
	if len(fav) != 1 || fav[0].ID != mugs[1].ID || !fav[0].Favourite {
		t.Fatalf("favourites: %+v", fav)
	}
	if err := st.Delete(mugs[0].ID); err != nil {
		t.Fatal(err)
	}
	if all, _ := st.Gallery(GalleryFilter{}); len(all) != 2 {
		t.Fatalf("after delete: %d", len(all))
	}
}

func TestDropInspectionAndReferenceImport(t *testing.T) {
	st, model := testStudio(t)
	dir := t.TempDir()
	img := image.NewNRGBA(image.Rect(0, 0, 20, 10))
	plain := filepath.Join(dir, "photo.png")
	if err := imageio.WritePNGFile(plain, img); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "a1111.png")
	params := "a castle\nNegative prompt: fog\nSteps: 25, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 1234, Size: 512x768, Model hash: abc, Model: dreamy"
	if err := imageio.WritePNGFile(foreign, img, imageio.Text{Key: imageio.ParametersKey, Value: params}); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "broken.png")
	os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("hello"), 0o644)

	if d := InspectDrop(plain); d.Kind != DropImage {
		t.Errorf("plain: %+v", d)
	}
	d := InspectDrop(foreign)
	if d.Kind != DropRecipeImage || d.Recipe.Prompt != "a castle" || d.Recipe.Seed != 1234 || d.Recipe.Sampler != "DPM++ 2M Karras" || d.Recipe.Height != 768 || d.Recipe.Negative != "fog" {
		t.Errorf("foreign recipe: %+v", d)
	}
	for _, p := range []string{bad, notes, filepath.Join(dir, "gone.png")} {
		if d := InspectDrop(p); d.Kind != DropUnknown || !strings.Contains(d.Problem, filepath.Base(p)) {
			t.Errorf("%s: %+v", p, d)
		}
	}
	if d := InspectDrop(model); d.Kind != DropModelFolder {
		t.Errorf("folder: %+v", d)
	}

	it, err := st.ImportReference(foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportReference(bad); err == nil {
		t.Error("a broken file was imported")
	}
	refs, _ := st.References()
	if len(refs) != 1 || refs[0].ID != it.ID || refs[0].Name != "a1111.png" || !refs[0].Reference {
		t.Fatalf("references %+v", refs)
	}
	if g, _ := st.Gallery(GalleryFilter{}); len(g) != 0 {
		t.Errorf("a reference shows in the gallery: %+v", g)
	}
	// The stored copy is re-encoded: the foreign recipe does not travel in.
	if err := st.Export(it.ID, filepath.Join(dir, "out.png")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "out.png"))
	if _, ok, _ := imageio.ReadParameters(bytes.NewReader(data)); ok {
		t.Error("the imported reference kept its text chunk")
	}
}

func TestModelFoldersSettings(t *testing.T) {
	st, model := testStudio(t)
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "model_index.json"), []byte(`{"_class_name": "StableDiffusionPipeline"}`), 0o644)
	if _, err := st.AddModelFolder(broken); err == nil {
		t.Fatal("a broken model folder was accepted")
	}
	info, err := st.AddModelFolder(model)
	if err != nil || info.Factor == 0 || info.DefaultSize == 0 {
		t.Fatalf("%+v %v", info, err)
	}
	dirs, _ := st.ModelFolders()
	if len(dirs) != 1 || dirs[0] != model {
		t.Fatalf("folders %v", dirs)
	}
	models, _ := st.AvailableModels()
	if len(models) != 2 || models[1].Ref != model || models[1].Problem != "" {
		t.Fatalf("models %+v", models)
	}
	if err := st.RemoveModelFolder(model); err != nil {
		t.Fatal(err)
	}
	if dirs, _ := st.ModelFolders(); len(dirs) != 0 {
		t.Fatalf("after remove: %v", dirs)
	}
	if err := st.SetProvider("cpu"); err != nil || st.Provider() != "cpu" {
		t.Fatalf("provider %v %v", st.Provider(), err)
	}
}

func TestSecondWindowGetsLockedError(t *testing.T) {
	dir := t.TempDir()
	st, err := New(Config{DataDir: dir}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = New(Config{DataDir: dir}).OpenStudio()
	var le *LibraryError
	if !errors.As(err, &le) || !strings.Contains(le.Summary, "another window") || le.Damaged {
		t.Fatalf("second open: %v", err)
	}
}

func TestDamagedLibraryCanBeSetAside(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "library.db"), bytes.Repeat([]byte("x"), 8192), 0o600)
	svc := New(Config{DataDir: dir})
	_, err := svc.OpenStudio()
	var le *LibraryError
	if !errors.As(err, &le) || !le.Damaged {
		t.Fatalf("damaged file: %v", err)
	}
	st, kept, err := svc.StartNewLibrary()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := os.Stat(kept); err != nil || !strings.Contains(kept, "broken") {
		t.Fatalf("kept %q: %v", kept, err)
	}
}

func TestInterruptedJobsReportedOnce(t *testing.T) {
	dir := t.TempDir()
	st, err := New(Config{DataDir: dir}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	// A job left running, as a killed app leaves it.
	if _, err := st.lib.BeginJob("generate", "a cat ×2", ""); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = New(Config{DataDir: dir}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	titles, err := st.TakeInterruptedJobs()
	if err != nil || len(titles) != 1 || titles[0] != "a cat ×2" {
		t.Fatalf("interrupted %v %v", titles, err)
	}
	if again, _ := st.TakeInterruptedJobs(); len(again) != 0 {
		t.Fatalf("reported twice: %v", again)
	}
}
