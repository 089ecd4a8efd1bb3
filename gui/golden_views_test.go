//go:build ci

package gui

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// Golden images of the main views, rendered by fyne's software painter
// (test windows) in the light variant of the default theme at a fixed
// window size. Everything shown is fixed: pictures drawn here, recipes with
// fixed seeds and times, and a backend that reports fixed diagnostics and
// data folder. A view that changes on purpose: look at
// testdata/failed/<name>.png and copy it over testdata/<name>.png.
//
// The first-run image is the whole window; the others are views moved
// into windows of their own, so that a change beside them (the subjects
// column, the gallery's filter bar) leaves them alone.

// lightTheme is the default theme, always in its light variant.
type lightTheme struct{ fyne.Theme }

func (l lightTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return l.Theme.Color(n, theme.VariantLight)
}

// goldenBackend is the real service with fixed diagnostics and a fixed
// data folder name to show (the library itself is in a temporary folder).
type goldenBackend struct {
	*service.Service
}

func (goldenBackend) Diagnostics() service.Diagnostics {
	return service.Diagnostics{
		App: "OneActor Desktop 0.1.0 (build 1)", Platform: "linux/amd64",
		ORTVersion: "1.30.0", ORTLibrary: "/opt/oneactor/lib/libonnxruntime.so.1", ORTSource: "bundled",
		Requested: "auto", Provider: "CPU",
		ProviderReason: "libonnxruntime_providers_cuda.so: cannot open shared object file",
		ProviderHint:   "Install the CUDA 12 and cuDNN 9 runtime libraries, then press Check again.",
		DataDir:        "/home/you/.local/share/oneactor",
	}
}

func (goldenBackend) DataDir() string { return "/home/you/.local/share/oneactor" }

// goldenMain opens the main window at 1280×800 on a fresh library, with
// the bundled ToyWorld model chosen (as on first run).
func goldenMain(t *testing.T) *MainView {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(lightTheme{theme.DefaultTheme()})
	v := openMain(a, goldenBackend{service.New(service.Config{DataDir: t.TempDir()})})
	t.Cleanup(func() {
		if !v.closed {
			v.win.Close()
		}
	})
	if v.studio == nil {
		t.Fatal("the library did not open")
	}
	v.win.Resize(fyne.NewSize(1280, 800))
	waitLong(t, "ToyWorld to be chosen", func() bool {
		return v.panel.model.Ref == service.BundledModel && !v.panel.generate.Disabled()
	})
	return v
}

// relayout lays out o and everything in it, top down. A desktop window
// lays out every frame whatever changed size; the test canvas only when it
// is resized, so a label shown since (Show) would still sit at 0,0.
func relayout(o fyne.CanvasObject) {
	if !o.Visible() {
		return
	}
	var kids []fyne.CanvasObject
	switch x := o.(type) {
	case *fyne.Container:
		if x.Layout != nil {
			x.Layout.Layout(x.Objects, x.Size())
		}
		kids = x.Objects
	case fyne.Widget:
		r := test.WidgetRenderer(x)
		r.Layout(x.Size())
		kids = r.Objects()
	}
	for _, k := range kids {
		relayout(k)
	}
}

// toyPicture draws a 64×64 stand-in for a ToyWorld picture: sky, sea and
// sand, and a creature of colour c at x.
func toyPicture(c color.NRGBA, x float64) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for py := range 64 {
		for px := range 64 {
			bg := color.NRGBA{170, 210, 250, 255} // sky
			switch {
			case py >= 40:
				bg = color.NRGBA{235, 215, 160, 255} // sand
			case py >= 32:
				bg = color.NRGBA{40, 80, 190, 255} // sea
			}
			dx, dy := float64(px)-x, float64(py)-30
			if math.Hypot(dx, dy) < 13 {
				bg = c
			}
			img.SetNRGBA(px, py, bg)
		}
	}
	return img
}

// goldenItems stores eight pictures with fixed recipes (newest first in
// the gallery: the last one saved), the third newest a favourite.
func goldenItems(t *testing.T, v *MainView) []service.Item {
	t.Helper()
	colours := []color.NRGBA{{220, 30, 50, 255}, {240, 140, 30, 255}, {240, 210, 40, 255}, {60, 170, 70, 255},
		{40, 90, 220, 255}, {140, 60, 200, 255}, {220, 30, 50, 255}, {40, 90, 220, 255}}
	names := []string{"red", "orange", "yellow", "green", "blue", "purple", "red", "blue"}
	for k, c := range colours {
		r := service.DefaultRecipe()
		r.ModelName, r.ModelFingerprint = service.BundledModel, "9f2c41d07ab3"
		r.Prompt = fmt.Sprintf("a %s creature on the beach", names[k])
		r.Steps, r.Seed, r.Width, r.Height = 30, int64(1000+k), 32, 32
		if _, err := v.studio.SaveImages(r, []image.Image{toyPicture(c, 20+float64(k*3))}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := v.studio.Gallery(service.GalleryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.studio.SetFavourite(items[2].ID, true); err != nil {
		t.Fatal(err)
	}
	ui(func() { v.gallery.Reload() })
	waitFor(t, func() bool { return len(v.gallery.Items()) == 8 && v.gallery.Items()[2].Favourite })
	// Every thumbnail on screen.
	waitFor(t, func() bool {
		n := 0
		for _, o := range test.LaidOutObjects(v.gallery.grid) {
			if c, ok := o.(*galleryCell); ok && c.Visible() && c.img.Image != nil {
				n++
			}
		}
		return n == 8
	})
	return v.gallery.Items()
}

// goldenUpdateEnv, set, makes the golden tests write their images as the
// new masters instead of comparing (after a change to a view on purpose;
// look at the images before committing them).
const goldenUpdateEnv = "ONEACTOR_UPDATE_GOLDEN"

// assertGolden compares img with testdata/name, pixel for pixel. On a
// mismatch it writes img to testdata/failed/name and says how many pixels
// differ (fyne's AssertImageMatches would print megabytes of hex).
func assertGolden(t *testing.T, name string, img image.Image) {
	t.Helper()
	if os.Getenv(goldenUpdateEnv) != "" {
		writePNG(t, filepath.Join("testdata", name), img)
		t.Logf("wrote testdata/%s", name)
		return
	}
	got := toNRGBA(img)
	f, err := os.Open(filepath.Join("testdata", name))
	var want *image.NRGBA
	if err == nil {
		m, derr := png.Decode(f)
		f.Close()
		if derr != nil {
			t.Fatalf("testdata/%s: %v", name, derr)
		}
		want = toNRGBA(m)
	}
	switch {
	case want == nil:
		t.Errorf("no master testdata/%s", name)
	case want.Rect != got.Rect:
		t.Errorf("%s: the view is %v, the master %v", name, got.Rect.Size(), want.Rect.Size())
	default:
		n, most := 0, 0
		for i := range got.Pix {
			if d := int(got.Pix[i]) - int(want.Pix[i]); d != 0 {
				n++
				most = max(most, d, -d)
			}
		}
		if n == 0 {
			return
		}
		t.Errorf("%s: %d of %d channel values differ (by up to %d)", name, n, len(got.Pix), most)
	}
	failed := filepath.Join("testdata", "failed", name)
	os.MkdirAll(filepath.Dir(failed), 0o755)
	writePNG(t, failed, got)
	t.Logf("the view is in %s; if it changed on purpose, look at it, then rerun with %s=1 to take it", failed, goldenUpdateEnv)
}

func toNRGBA(img image.Image) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	return out
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err == nil {
		err = png.Encode(f, img)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// moveTo puts a view of the main window into a window of its own, size
// s, laid out afresh, and captures it. (The view leaves the main window;
// the test ends after this.)
func moveTo(t *testing.T, o fyne.CanvasObject, s fyne.Size) image.Image {
	t.Helper()
	var img image.Image
	ui(func() {
		w := test.NewTempWindow(t, o)
		w.SetPadded(false)
		w.Resize(s)
		relayout(w.Content())
		img = w.Canvas().Capture()
	})
	return img
}

// TestGoldenFirstRun: the whole window on first run — header, the empty
// references column, the gallery's welcome and the generation panel with
// ToyWorld chosen.
func TestGoldenFirstRun(t *testing.T) {
	v := goldenMain(t)
	var img image.Image
	ui(func() { relayout(v.win.Content()); img = v.win.Canvas().Capture() })
	assertGolden(t, "main_first_run.png", img)
}

// TestGoldenGallery: eight pictures in the grid, one a favourite (star).
func TestGoldenGallery(t *testing.T) {
	v := goldenMain(t)
	goldenItems(t, v)
	assertGolden(t, "gallery.png", moveTo(t, v.gallery.body, fyne.NewSize(760, 400)))
}

// TestGoldenViewer: one picture with its recipe and actions. The time is
// fixed (and shown in UTC).
func TestGoldenViewer(t *testing.T) {
	old := time.Local
	time.Local = time.UTC
	defer func() { time.Local = old }()
	v := goldenMain(t)
	items := goldenItems(t, v)
	it := items[2]
	it.Time = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	ui(func() { v.openItem(it) })
	waitFor(t, func() bool { return v.viewer.img.Image != nil })
	assertGolden(t, "viewer.png", moveTo(t, v.viewer.Object(), fyne.NewSize(800, 640)))
}

// TestGoldenSettings: model folders (none added), device, data folder and
// diagnostics, as the settings dialog shows them.
func TestGoldenSettings(t *testing.T) {
	v := goldenMain(t)
	s := NewSettingsView(v)
	ui(func() { s.Reload() })
	waitFor(t, func() bool { return s.device.Selected != "" && !s.diag.copyBtn.Disabled() })
	assertGolden(t, "settings.png", moveTo(t, s.Object(), fyne.NewSize(900, 1120)))
}
