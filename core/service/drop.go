package service

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/storage"
)

// DropKind says what a file dropped on the window is.
type DropKind int

const (
	DropUnknown     DropKind = iota // nothing the app can use
	DropImage                       // a picture: import it as a reference
	DropRecipeImage                 // a PNG with a recipe: offer to reuse it (and import it)
	DropPose                        // an OpenPose JSON file
	DropModelFolder                 // a folder: offer to add it as a model
)

// Dropped is what the app found in a dropped file.
type Dropped struct {
	Path   string
	Kind   DropKind
	Recipe Recipe // for DropRecipeImage
	// Problem says, for people, why the file cannot be used (DropUnknown).
	Problem string
}

// maxSniff bounds what is read of a dropped file before deciding what it is.
const maxSniff = imageio.MaxFileBytes

// InspectDrop looks at a dropped path without changing anything: a folder,
// an image (decoded safely, with its recipe if it has one), an OpenPose
// JSON, or something else with the reason it cannot be used.
func InspectDrop(path string) Dropped {
	d := Dropped{Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		d.Problem = fmt.Sprintf("%s cannot be read: %v", filepath.Base(path), err)
		return d
	}
	if fi.IsDir() {
		d.Kind = DropModelFolder
		return d
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		d.Kind = DropPose
		return d
	}
	if fi.Size() > maxSniff {
		d.Problem = fmt.Sprintf("%s is too large to be a picture the app can use (%d MiB)", filepath.Base(path), fi.Size()>>20)
		return d
	}
	data, err := os.ReadFile(path)
	if err != nil {
		d.Problem = fmt.Sprintf("%s cannot be read: %v", filepath.Base(path), err)
		return d
	}
	if _, _, err := imageio.DecodeBytes(data); err != nil {
		d.Problem = fmt.Sprintf("%s is not a picture the app can open (PNG, JPEG or WebP): %v", filepath.Base(path), err)
		return d
	}
	d.Kind = DropImage
	if text, ok, err := imageio.ReadParameters(bytes.NewReader(data)); err == nil && ok && strings.TrimSpace(text) != "" {
		d.Kind, d.Recipe = DropRecipeImage, RecipeFromParameters(text)
	}
	return d
}

// ImportReference stores a picture file as a reference image. It is
// decoded with the safe decoder and stored re-encoded as a plain PNG, so
// nothing of the original file but its pixels enters the library.
func (st *Studio) ImportReference(path string) (Item, error) {
	img, _, err := imageio.DecodeFile(path)
	if err != nil {
		return Item{}, fmt.Errorf("import %s: %w", filepath.Base(path), err)
	}
	enc, err := encode(img, "")
	if err != nil {
		return Item{}, fmt.Errorf("import %s: %w", filepath.Base(path), err)
	}
	g := &storage.Generation{Tags: []string{referenceTag, "file:" + filepath.Base(path)}}
	if err := st.lib.AddGeneration(g, enc.png, enc.thumb); err != nil {
		return Item{}, fmt.Errorf("import %s: %w", filepath.Base(path), err)
	}
	return itemOf(g), nil
}
