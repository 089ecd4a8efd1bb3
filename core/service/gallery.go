package service

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/storage"
)

// ThumbnailSide is the longest side of stored thumbnails, in pixels.
const ThumbnailSide = 256

// referenceTag marks an imported picture (a reference for a subject), as
// opposed to a generated one.
const referenceTag = "reference"

// Item is one picture of the library.
type Item struct {
	ID        string
	Time      time.Time
	Recipe    Recipe
	Favourite bool
	// Reference marks an imported picture; Name is its file name.
	Reference bool
	Name      string
}

func itemOf(g *storage.Generation) Item {
	it := Item{ID: g.ID, Time: g.Time, Recipe: recipeFromStored(g.Recipe), Favourite: g.Favourite}
	for _, t := range g.Tags {
		switch {
		case t == referenceTag:
			it.Reference = true
		case len(t) > 5 && t[:5] == "file:":
			it.Name = t[5:]
		}
	}
	return it
}

// GalleryFilter selects gallery items; the zero value is every generated
// picture, newest first.
type GalleryFilter struct {
	Favourites bool
	Text       string // in the prompt, case-insensitive
	SubjectID  string
}

// galleryPage is how many records one read transaction decodes; small
// enough that a concurrent writer is never held up for long.
const galleryPage = 2000

// Gallery lists the generated pictures matching f, newest first. It reads
// only the records (no image data), so 10,000 items take a few tens of
// milliseconds; thumbnails come one by one from Thumbnail.
func (st *Studio) Gallery(f GalleryFilter) ([]Item, error) {
	return st.list(f, false)
}

// References lists the imported pictures, newest first.
func (st *Studio) References() ([]Item, error) {
	return st.list(GalleryFilter{}, true)
}

func (st *Studio) list(f GalleryFilter, references bool) ([]Item, error) {
	q := storage.GenerationQuery{Limit: galleryPage, Favourites: f.Favourites, Text: f.Text, SubjectID: f.SubjectID}
	var out []Item
	for {
		p, err := st.lib.ListGenerations(q)
		if err != nil {
			return nil, fmt.Errorf("read the gallery: %w", err)
		}
		for _, g := range p.Items {
			if slices.Contains(g.Tags, referenceTag) == references && !slices.Contains(g.Tags, trashTag) {
				out = append(out, itemOf(g))
			}
		}
		if p.Next == "" {
			st.nameSubjects(out)
			return out, nil
		}
		q.Before = p.Next
	}
}

// Item reads one item.
func (st *Studio) Item(id string) (Item, error) {
	g, err := st.lib.Generation(id)
	if err != nil {
		return Item{}, err
	}
	it := []Item{itemOf(g)}
	st.nameSubjects(it)
	return it[0], nil
}

// Thumbnail decodes an item's thumbnail.
func (st *Studio) Thumbnail(id string) (image.Image, error) {
	return st.picture(id, true)
}

// Image decodes an item's full picture.
func (st *Studio) Image(id string) (image.Image, error) {
	return st.picture(id, false)
}

func (st *Studio) picture(id string, thumb bool) (image.Image, error) {
	g, err := st.lib.Generation(id)
	if err != nil {
		return nil, err
	}
	ref := g.Image
	if thumb {
		ref = g.Thumbnail
	}
	data, err := st.lib.Blob(ref)
	if err != nil {
		return nil, fmt.Errorf("picture of %s: %w", id, err)
	}
	img, _, err := imageio.DecodeBytes(data)
	if err != nil {
		return nil, fmt.Errorf("picture of %s: %w", id, err)
	}
	return img, nil
}

// SetFavourite marks or unmarks an item.
func (st *Studio) SetFavourite(id string, fav bool) error { return st.lib.SetFavourite(id, fav) }

// Delete removes an item and, when nothing else uses them, its pictures,
// at once and for good (Trash deletes with undo).
func (st *Studio) Delete(id string) error { return st.lib.DeleteGeneration(id) }

// Export writes an item's PNG, recipe text chunk included, to path. An
// existing file is not replaced (it may be another picture).
func (st *Studio) Export(id, path string) error {
	g, err := st.lib.Generation(id)
	if err != nil {
		return err
	}
	data, err := st.lib.Blob(g.Image)
	if err != nil {
		return fmt.Errorf("export %s: %w", id, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*.png")
	if err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("export to %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	// Link instead of rename so an existing file is refused, not replaced.
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	return nil
}

// encoded is one picture ready for the library: its PNG (with the recipe
// text) and its thumbnail PNG.
type encoded struct {
	png, thumb []byte
}

func encode(img image.Image, params string) (encoded, error) {
	var full, small bytes.Buffer
	var texts []imageio.Text
	if params != "" {
		texts = append(texts, imageio.Text{Key: imageio.ParametersKey, Value: params})
	}
	if err := imageio.EncodePNG(&full, img, texts...); err != nil {
		return encoded{}, fmt.Errorf("encode PNG: %w", err)
	}
	t, err := imageio.Thumbnail(img, ThumbnailSide)
	if err != nil {
		return encoded{}, fmt.Errorf("thumbnail: %w", err)
	}
	if err := imageio.EncodePNG(&small, t); err != nil {
		return encoded{}, fmt.Errorf("encode thumbnail: %w", err)
	}
	return encoded{full.Bytes(), small.Bytes()}, nil
}

// putGenerations stores pictures made with r (image k with seeds[k]) in tx,
// with the conditioning image when r has one.
func putGenerations(tx *storage.Tx, r Recipe, imgs []image.Image, seeds []int64, controlImage image.Image) ([]Item, error) {
	items := make([]Item, 0, len(imgs))
	var ctl *storage.Control
	if r.Control != nil && controlImage != nil {
		var buf bytes.Buffer
		if err := imageio.EncodePNG(&buf, controlImage); err != nil {
			return nil, fmt.Errorf("encode the control image: %w", err)
		}
		ref, err := tx.PutBlob(buf.Bytes())
		if err != nil {
			return nil, err
		}
		ctl = &storage.Control{Kind: r.Control.Kind, Image: ref, Pose: r.Control.Pose, Scale: r.Control.Scale,
			Start: r.Control.Start, End: r.Control.End}
	}
	for k, img := range imgs {
		params, err := r.a1111(seeds[k]).Format()
		if err != nil {
			return nil, fmt.Errorf("recipe text: %w", err)
		}
		enc, err := encode(img, params)
		if err != nil {
			return nil, err
		}
		g := &storage.Generation{Recipe: r.stored(seeds[k])}
		g.Recipe.Control = ctl
		if g.Image, err = tx.PutBlob(enc.png); err != nil {
			return nil, err
		}
		if g.Thumbnail, err = tx.PutBlob(enc.thumb); err != nil {
			return nil, err
		}
		if err := tx.PutGeneration(g); err != nil {
			return nil, err
		}
		items = append(items, itemOf(g))
	}
	return items, nil
}

// SaveImages stores finished pictures made with r in one transaction,
// image k with seed r.Seed+k (the engine's batch convention). Jobs save
// through the same path; it is exported for imports of whole batches.
func (st *Studio) SaveImages(r Recipe, imgs []image.Image) ([]Item, error) {
	seeds := make([]int64, len(imgs))
	for k := range seeds {
		seeds[k] = r.Seed + int64(k)
	}
	var items []Item
	err := st.lib.Update(func(tx *storage.Tx) error {
		var err error
		items, err = putGenerations(tx, r, imgs, seeds, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save pictures: %w", err)
	}
	return items, nil
}
