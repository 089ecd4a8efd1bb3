package service

import (
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneactor/oneactor-desktop/core/imageio"
)

func TestPictureFileIsWrittenOnce(t *testing.T) {
	st, _ := testStudio(t)
	items := saveColours(t, st, color.RGBA{R: 200}, color.RGBA{G: 200})
	path, err := st.PictureFile(items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != st.PicturesDir() || !strings.HasSuffix(path, ".png") || !strings.Contains(filepath.Base(path), "seed100") {
		t.Fatalf("path %s", path)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	text, ok, _ := imageio.ReadParameters(f)
	f.Close()
	if !ok || !strings.Contains(text, "picture 0") {
		t.Fatalf("recipe in the file: %q", text)
	}
	fi, _ := os.Stat(path)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)

	// Asked again: the same file, not written again.
	again, err := st.PictureFile(items[0].ID)
	if err != nil || again != path {
		t.Fatalf("again: %s %v", again, err)
	}
	if fi2, _ := os.Stat(path); !fi2.ModTime().Equal(old) || fi2.Size() != fi.Size() {
		t.Fatal("the file was written again")
	}
	// Another item, another file.
	other, err := st.PictureFile(items[1].ID)
	if err != nil || other == path {
		t.Fatalf("other: %s %v", other, err)
	}
	// A different file under the item's name is kept; the picture goes beside it.
	os.WriteFile(other, []byte("not mine"), 0o644)
	beside, err := st.PictureFile(items[1].ID)
	if err != nil || beside == other || !strings.Contains(beside, items[1].ID) {
		t.Fatalf("beside: %s %v", beside, err)
	}
	if data, _ := os.ReadFile(other); string(data) != "not mine" {
		t.Fatal("a file that was not ours was replaced")
	}
}

func TestPictureFileNameOfAReference(t *testing.T) {
	got := PictureFileName(Item{ID: "0123456789abcdef01234567", Reference: true, Name: "my photo (1).JPG"})
	if got != "reference-01234567-my_photo__1_.png" {
		t.Fatalf("%q", got)
	}
}
