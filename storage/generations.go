package storage

import (
	"bytes"
	"fmt"
	"strings"
)

// PutGeneration inserts or replaces a generation. An empty ID gets a new
// time-ordered one (from Time, set to now when zero).
func (t *Tx) PutGeneration(g *Generation) error {
	gens, err := t.bucket(bucketGenerations)
	if err != nil {
		return err
	}
	if g.Time.IsZero() {
		g.Time = now()
	}
	g.Time = g.Time.UTC()
	if g.ID == "" {
		g.ID = newID(g.Time)
	}
	var oldRefs []BlobRef
	if old, err := t.Generation(g.ID); err == nil {
		oldRefs = old.refs()
	} else if !isNotFound(err) {
		return err
	}
	g.V = GenerationVersion
	buf, err := marshal(g)
	if err != nil {
		return err
	}
	if err := t.retarget(oldRefs, g.refs()); err != nil {
		return fmt.Errorf("generation %s: %w", g.ID, err)
	}
	if err := gens.Put([]byte(g.ID), buf); err != nil {
		return fmt.Errorf("store generation %s: %w", g.ID, err)
	}
	return nil
}

// Generation reads one generation.
func (t *Tx) Generation(id string) (*Generation, error) {
	gens, err := t.bucket(bucketGenerations)
	if err != nil {
		return nil, err
	}
	v := gens.Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("generation %s: %w", id, ErrNotFound)
	}
	return decodeGeneration(id, v)
}

func decodeGeneration(id string, v []byte) (*Generation, error) {
	var g Generation
	if err := unmarshal(v, &g); err != nil {
		return nil, fmt.Errorf("generation %s: %w", id, err)
	}
	if g.V != GenerationVersion {
		return nil, fmt.Errorf("generation %s has record version %d (this app reads %d)", id, g.V, GenerationVersion)
	}
	return &g, nil
}

// DeleteGeneration removes a generation and releases its blobs.
func (t *Tx) DeleteGeneration(id string) error {
	g, err := t.Generation(id)
	if err != nil {
		return err
	}
	if err := t.retarget(g.refs(), nil); err != nil {
		return fmt.Errorf("delete generation %s: %w", id, err)
	}
	gens, _ := t.bucket(bucketGenerations)
	return gens.Delete([]byte(id))
}

// GenerationQuery selects a page of generations, newest first.
type GenerationQuery struct {
	// Before is the paging cursor: only generations older than this id
	// (the Next of the previous page). Empty: start at the newest.
	Before string
	// Limit is the page size (0: 100).
	Limit int
	// SubjectID keeps generations whose recipe uses this subject.
	SubjectID string
	// Favourites keeps favourites only.
	Favourites bool
	// Text keeps generations whose prompt contains it (case-insensitive).
	Text string
}

// GenerationPage is one page of results; Next is "" on the last page.
type GenerationPage struct {
	Items []*Generation
	Next  string
}

// ListGenerations walks the generations bucket from the newest key down
// (ids are time-ordered), decoding records until the page is full.
func (t *Tx) ListGenerations(q GenerationQuery) (GenerationPage, error) {
	var page GenerationPage
	gens, err := t.bucket(bucketGenerations)
	if err != nil {
		return page, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	text := strings.ToLower(q.Text)
	c := gens.Cursor()
	var k, v []byte
	if q.Before == "" {
		k, v = c.Last()
	} else {
		k, v = c.Seek([]byte(q.Before))
		if k == nil {
			k, v = c.Last()
		}
		// Seek lands on the cursor itself or the next larger key; step
		// back past anything not strictly older.
		for k != nil && bytes.Compare(k, []byte(q.Before)) >= 0 {
			k, v = c.Prev()
		}
	}
	for ; k != nil; k, v = c.Prev() {
		if len(page.Items) == limit {
			page.Next = page.Items[limit-1].ID
			break
		}
		g, err := decodeGeneration(string(k), v)
		if err != nil {
			return page, err
		}
		if q.Favourites && !g.Favourite {
			continue
		}
		if q.SubjectID != "" && !g.uses(q.SubjectID) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(g.Recipe.Prompt), text) {
			continue
		}
		page.Items = append(page.Items, g)
	}
	return page, nil
}

func (g *Generation) uses(subject string) bool {
	for _, s := range g.Recipe.Subjects {
		if s.SubjectID == subject {
			return true
		}
	}
	return false
}

// AddGeneration stores a new generation with its image and thumbnail in one
// transaction (g.Image and g.Thumbnail are set from the data).
func (l *Library) AddGeneration(g *Generation, image, thumbnail []byte) error {
	return l.Update(func(t *Tx) error {
		var err error
		if g.Image, err = t.PutBlob(image); err != nil {
			return err
		}
		if g.Thumbnail, err = t.PutBlob(thumbnail); err != nil {
			return err
		}
		return t.PutGeneration(g)
	})
}

// Generation reads one generation.
func (l *Library) Generation(id string) (g *Generation, err error) {
	err = l.View(func(t *Tx) error { g, err = t.Generation(id); return err })
	return g, err
}

// ListGenerations returns one page, newest first (see GenerationQuery).
func (l *Library) ListGenerations(q GenerationQuery) (p GenerationPage, err error) {
	err = l.View(func(t *Tx) error { p, err = t.ListGenerations(q); return err })
	return p, err
}

// DeleteGeneration deletes a generation and collects its blobs.
func (l *Library) DeleteGeneration(id string) error {
	return l.Update(func(t *Tx) error { return t.DeleteGeneration(id) })
}

// SetFavourite marks or unmarks a generation.
func (l *Library) SetFavourite(id string, fav bool) error {
	return l.Update(func(t *Tx) error {
		g, err := t.Generation(id)
		if err != nil {
			return err
		}
		g.Favourite = fav
		return t.PutGeneration(g)
	})
}

// SetTags replaces a generation's tags.
func (l *Library) SetTags(id string, tags []string) error {
	return l.Update(func(t *Tx) error {
		g, err := t.Generation(id)
		if err != nil {
			return err
		}
		g.Tags = tags
		return t.PutGeneration(g)
	})
}
