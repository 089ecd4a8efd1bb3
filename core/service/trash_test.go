package service

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/storage"
)

// saveColours stores one 16×16 picture per colour, each with its own prompt.
func saveColours(t testing.TB, st *Studio, cs ...color.RGBA) []Item {
	t.Helper()
	var items []Item
	for k, c := range cs {
		img := image.NewRGBA(image.Rect(0, 0, 16, 16))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
		}
		r := DefaultRecipe()
		r.Prompt, r.Seed = fmt.Sprintf("picture %d", k), int64(100+k)
		it, err := st.SaveImages(r, []image.Image{img})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it...)
	}
	return items
}

func rgbaPix(img image.Image) []uint8 {
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	return out.Pix
}

func galleryIDs(t testing.TB, st *Studio) []string {
	t.Helper()
	items, err := st.Gallery(GalleryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// checkLibrary asserts the library is consistent: the checker finds no
// problem and no blob is left without a record.
func checkLibrary(t testing.TB, st *Studio) {
	t.Helper()
	rep, err := st.lib.Verify()
	if err != nil || !rep.OK() {
		t.Fatalf("library check: %v %+v", err, rep)
	}
	gc, err := st.lib.CollectGarbage()
	if err != nil || gc.Removed != 0 || gc.Recounted != 0 {
		t.Fatalf("garbage after the deletes: %+v %v", gc, err)
	}
}

func TestTrashRestoreGivesBackEverything(t *testing.T) {
	st, _ := testStudio(t)
	items := saveColours(t, st, color.RGBA{R: 255}, color.RGBA{G: 255}, color.RGBA{B: 255})
	victim := items[1]
	if err := st.SetFavourite(victim.ID, true); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Image(victim.ID)
	if err := st.Trash(victim.ID); err != nil {
		t.Fatal(err)
	}
	if ids := galleryIDs(t, st); slices.Contains(ids, victim.ID) || len(ids) != 2 {
		t.Fatalf("a trashed picture is still listed: %v", ids)
	}
	if fav, _ := st.Gallery(GalleryFilter{Favourites: true}); len(fav) != 0 {
		t.Fatalf("a trashed favourite is still listed: %+v", fav)
	}
	if ids, _ := st.Trashed(); !slices.Equal(ids, []string{victim.ID}) {
		t.Fatalf("trashed %v", ids)
	}

	if err := st.Restore(victim.ID); err != nil {
		t.Fatal(err)
	}
	all, _ := st.Gallery(GalleryFilter{})
	if len(all) != 3 || all[1].ID != victim.ID {
		t.Fatalf("restored in the wrong place: %+v", all)
	}
	got := all[1]
	if !got.Favourite || got.Recipe.Prompt != victim.Recipe.Prompt || got.Recipe.Seed != victim.Recipe.Seed {
		t.Fatalf("restored item %+v, was %+v", got, victim)
	}
	after, err := st.Image(victim.ID)
	if err != nil || !slices.Equal(rgbaPix(after), rgbaPix(before)) {
		t.Fatalf("restored picture differs (%v)", err)
	}
	if _, err := st.Thumbnail(victim.ID); err != nil {
		t.Fatal(err)
	}
	checkLibrary(t, st)

	// Trash then purge: gone for good, its blobs with it.
	if err := st.Trash(victim.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(victim.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Item(victim.ID); err == nil {
		t.Fatal("purged item still stored")
	}
	if err := st.Restore(victim.ID); err == nil {
		t.Fatal("restoring a purged item did not fail")
	}
	// Purge leaves items that are not in the trash alone.
	if err := st.Purge(items[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Item(items[0].ID); err != nil {
		t.Fatalf("Purge removed an item that was not trashed: %v", err)
	}
	checkLibrary(t, st)
}

func TestTrashedReferenceLeavesTheReferences(t *testing.T) {
	st, _ := testStudio(t)
	path := filepath.Join(t.TempDir(), "ref.png")
	if err := imageio.WritePNGFile(path, image.NewNRGBA(image.Rect(0, 0, 24, 24))); err != nil {
		t.Fatal(err)
	}
	it, err := st.ImportReference(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Trash(it.ID); err != nil {
		t.Fatal(err)
	}
	if refs, _ := st.References(); len(refs) != 0 {
		t.Fatalf("references %+v", refs)
	}
	if err := st.Restore(it.ID); err != nil {
		t.Fatal(err)
	}
	if refs, _ := st.References(); len(refs) != 1 || refs[0].Name != "ref.png" {
		t.Fatalf("references after undo %+v", refs)
	}
}

func TestPendingDeletesFinishOnClose(t *testing.T) {
	dir := t.TempDir()
	st, err := New(Config{DataDir: dir}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	items := saveColours(t, st, color.RGBA{R: 9}, color.RGBA{G: 9})
	if err := st.Trash(items[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	st, err = New(Config{DataDir: dir}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Item(items[0].ID); err == nil {
		t.Fatal("the pending delete was not finished at close")
	}
	if ids := galleryIDs(t, st); !slices.Equal(ids, []string{items[1].ID}) {
		t.Fatalf("gallery %v", ids)
	}
	checkLibrary(t, st)
}

// trashChildEnv makes the test binary a child that deletes and undoes in a
// loop until it is killed (TestPendingDeleteSurvivesKill).
const trashChildEnv = "ONEACTOR_TRASH_CHILD"

// TestPendingDeleteSurvivesKill kills (SIGKILL) a process that trashes,
// restores and purges pictures as fast as it can, at random moments, and
// opens the library after each kill: the library checks clean, no blob is
// orphaned, no picture is half there (each has its record, picture and
// thumbnail, and favourite marks survive), and nothing pending is left.
func TestPendingDeleteSurvivesKill(t *testing.T) {
	if dir := os.Getenv(trashChildEnv); dir != "" {
		trashChild(dir)
		return
	}
	dir := t.TempDir()
	st, err := New(Config{DataDir: dir}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	var cs []color.RGBA
	for k := range 24 {
		cs = append(cs, color.RGBA{R: uint8(10 * k), G: 7, B: uint8(255 - 10*k)})
	}
	saveColours(t, st, cs...)
	all, _ := st.Gallery(GalleryFilter{})
	for _, it := range all[:6] {
		st.SetFavourite(it.ID, true)
	}
	favs := map[string]bool{}
	for _, it := range all[:6] {
		favs[it.ID] = true
	}
	st.Close()

	kills, pendingSeen, pendingAtKill := 0, 0, 0
	for round := range 12 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPendingDeleteSurvivesKill$")
		cmd.Env = append(os.Environ(), trashChildEnv+"="+dir, "ONEACTOR_TRASH_SEED="+strconv.Itoa(round))
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		if !sc.Scan() || sc.Text() != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child did not start: %q", sc.Text())
		}
		time.Sleep(time.Duration(5+rand.IntN(60)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++

		// What the killed process left pending, before the next open finishes it.
		lib, err := storage.Open(dir, nil)
		if err != nil {
			t.Fatalf("open after kill %d: %v", round, err)
		}
		lib.View(func(tx *storage.Tx) error {
			ids, err := trashed(tx)
			pendingAtKill += len(ids)
			return err
		})
		lib.Close()
		st, err := New(Config{DataDir: dir}).OpenStudio()
		if err != nil {
			t.Fatalf("open after kill %d: %v", round, err)
		}
		if ids, _ := st.Trashed(); len(ids) != 0 {
			t.Fatalf("after kill %d, pending deletes survived the open: %v", round, ids)
		}
		checkLibrary(t, st)
		items, _ := st.Gallery(GalleryFilter{})
		for _, it := range items {
			if _, err := st.Image(it.ID); err != nil {
				t.Fatalf("after kill %d, %s has no picture: %v", round, it.ID, err)
			}
			if _, err := st.Thumbnail(it.ID); err != nil {
				t.Fatalf("after kill %d, %s has no thumbnail: %v", round, it.ID, err)
			}
			if it.Favourite != favs[it.ID] {
				t.Fatalf("after kill %d, %s lost its favourite mark", round, it.ID)
			}
			if !strings.HasPrefix(it.Recipe.Prompt, "picture ") {
				t.Fatalf("after kill %d, recipe %+v", round, it.Recipe)
			}
		}
		pendingSeen += len(all) - len(items)
		all = items
		st.Close()
		if len(items) < 4 {
			break
		}
	}
	t.Logf("%d kills; %d deletes pending at a kill (finished by the next open), %d pictures gone in all", kills, pendingAtKill, pendingSeen)
	if pendingAtKill == 0 {
		t.Error("no kill caught a pending delete; the test proved nothing")
	}
}

// trashChild trashes and restores pictures in a loop, purging now and then,
// until it is killed.
func trashChild(dir string) {
	st, err := New(Config{DataDir: dir}).OpenStudio()
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	seed, _ := strconv.Atoi(os.Getenv("ONEACTOR_TRASH_SEED"))
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	items, _ := st.Gallery(GalleryFilter{})
	fmt.Println("ready")
	for n := 0; ; n++ {
		it := items[rng.IntN(len(items))]
		switch n % 8 {
		case 7:
			st.Purge(it.ID)
		default:
			if err := st.Trash(it.ID); err == nil && n%3 != 0 {
				st.Restore(it.ID)
			}
		}
	}
}
