//go:build ci

package gui

import (
	"fmt"
	"image"
	"image/color"
	"runtime"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// fillLibrary stores n generations with small distinct pictures, in
// batches of one transaction each.
func fillLibrary(t testing.TB, st *service.Studio, n int) {
	t.Helper()
	r := service.DefaultRecipe()
	const batch = 500
	for done := 0; done < n; done += batch {
		imgs := make([]image.Image, min(batch, n-done))
		for k := range imgs {
			img := image.NewRGBA(image.Rect(0, 0, 16, 16))
			i := done + k
			for p := 0; p < len(img.Pix); p += 4 {
				img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = uint8(i), uint8(i>>8), uint8(p), 255
			}
			imgs[k] = img
		}
		r.Prompt = fmt.Sprintf("picture batch %d", done/batch)
		r.Seed = int64(done)
		if _, err := st.SaveImages(r, imgs); err != nil {
			t.Fatal(err)
		}
	}
}

// visibleCells are the gallery cells on screen.
func visibleCells(g *GalleryView) []*galleryCell {
	var out []*galleryCell
	for _, o := range test.LaidOutObjects(g.grid) {
		if c, ok := o.(*galleryCell); ok && c.Visible() {
			out = append(out, c)
		}
	}
	return out
}

func allLoaded(cells []*galleryCell) bool {
	for _, c := range cells {
		if c.img.Image == nil {
			return false
		}
	}
	return len(cells) > 0
}

// TestGallery10k builds the gallery over a library of 10,000 pictures and
// measures what the user feels: the time to list them, the time of each
// scroll jump (laying out the cells, on the UI goroutine), the time until
// a screenful of thumbnails is in, and the heap afterwards.
func TestGallery10k(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a 10,000-picture library")
	}
	const n = 10000
	test.NewTempApp(t)
	svc := service.New(service.Config{DataDir: t.TempDir()})
	st, err := svc.OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fillLibrary(t, st, n)

	g := NewGalleryView(st, func(service.Item) {})
	w := test.NewTempWindow(t, g.Object())
	ui(func() { w.Resize(fyne.NewSize(1000, 700)) })
	start := time.Now()
	ui(func() { g.Reload() })
	waitFor(t, func() bool { return len(g.Items()) == n })
	listed := time.Since(start)
	waitFor(t, func() bool { return allLoaded(visibleCells(g)) })
	first := time.Since(start)
	if g.Items()[0].Recipe.Prompt != "picture batch 19" {
		t.Fatalf("newest first: %q", g.Items()[0].Recipe.Prompt)
	}

	// Jump through the whole grid, as dragging the scroll bar does.
	var jumps, fills []time.Duration
	offsets := 60
	ui(func() { g.grid.ScrollToBottom() })
	bottom := g.grid.GetScrollOffset()
	for i := 0; i <= offsets; i++ {
		off := bottom * float32(i) / float32(offsets)
		t0 := time.Now()
		ui(func() { g.grid.ScrollToOffset(off) })
		jumps = append(jumps, time.Since(t0))
		waitFor(t, func() bool { return allLoaded(visibleCells(g)) })
		fills = append(fills, time.Since(t0))
	}
	cells := len(visibleCells(g))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p95 := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)*95/100]
	}
	t.Logf("10,000 items: listed in %v, first screen of thumbnails in %v; %d cells on screen; "+
		"scroll jump p95 %v (max %v); screen filled with thumbnails p95 %v; heap %d MiB, %d thumbnails cached",
		listed.Round(time.Millisecond), first.Round(time.Millisecond), cells, p95(jumps), slices.Max(jumps),
		p95(fills).Round(time.Millisecond), ms.HeapAlloc>>20, g.thumbs.Len())
	if cells > 200 {
		t.Errorf("%d cells exist: the grid is not virtualised", cells)
	}
	if p95(jumps) > 50*time.Millisecond {
		t.Errorf("scroll jumps take %v (p95): the UI goroutine is blocked too long", p95(jumps))
	}
	if g.thumbs.Len() > thumbCacheSize {
		t.Errorf("%d thumbnails cached, limit %d", g.thumbs.Len(), thumbCacheSize)
	}
	if ms.HeapAlloc > 300<<20 {
		t.Errorf("heap %d MiB after scrolling 10,000 items", ms.HeapAlloc>>20)
	}
}

func TestGalleryFiltersAndFavouriteStar(t *testing.T) {
	test.NewTempApp(t)
	st, err := service.New(service.Config{DataDir: t.TempDir()}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.White)
	r := service.DefaultRecipe()
	for _, p := range []string{"a mug", "a cat", "a green mug"} {
		r.Prompt = p
		st.SaveImages(r, []image.Image{img})
	}
	var opened service.Item
	g := NewGalleryView(st, func(it service.Item) { opened = it })
	test.NewTempWindow(t, g.Object()).Resize(fyne.NewSize(800, 600))
	ui(func() { g.Reload() })
	waitFor(t, func() bool { return len(g.Items()) == 3 })
	ui(func() { test.Type(g.search, "mug") })
	waitFor(t, func() bool { return len(g.Items()) == 2 })
	if g.count.Text != "2 pictures" {
		t.Errorf("count %q", g.count.Text)
	}
	ui(func() { g.search.SetText("") })
	waitFor(t, func() bool { return len(g.Items()) == 3 })
	st.SetFavourite(g.Items()[2].ID, true)
	ui(func() { g.show.SetSelected(showFavourites) })
	waitFor(t, func() bool { return len(g.Items()) == 1 && g.Items()[0].Recipe.Prompt == "a mug" })
	waitFor(t, func() bool { return allLoaded(visibleCells(g)) })
	if c := visibleCells(g); len(c) != 1 || c[0].star.Resource == nil {
		t.Fatalf("favourite star not shown")
	}
	ui(func() { g.grid.Select(0) })
	if opened.Recipe.Prompt != "a mug" {
		t.Errorf("tapping a cell opened %+v", opened)
	}
	ui(func() { g.show.SetSelected(showAll) })
	waitFor(t, func() bool { return len(g.Items()) == 3 })
}
