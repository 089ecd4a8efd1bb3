package service

import (
	"errors"
	"fmt"
	"slices"

	"github.com/oneactor/oneactor-desktop/storage"
)

// trashTag marks a picture deleted with undo: it has left the gallery, but
// its record — picture, thumbnail, recipe, favourite mark — stays until the
// delete is made final (Purge), so Restore can bring it back whole.
//
// The mark is written in one transaction and so is the final delete, so a
// crash in between leaves the picture marked, and the next OpenStudio
// finishes the delete: a pending delete either completes or is undone,
// never half done.
const trashTag = "trash"

// Trash deletes an item with undo: it disappears from the gallery and the
// references at once; Restore undoes it, Purge makes it final. Pending
// deletes are made final when the studio closes and, after a crash, when
// the library is opened next.
func (st *Studio) Trash(id string) error {
	err := st.lib.Update(func(tx *storage.Tx) error {
		g, err := tx.Generation(id)
		if err != nil {
			return err
		}
		if slices.Contains(g.Tags, trashTag) {
			return nil
		}
		g.Tags = append(g.Tags, trashTag)
		return tx.PutGeneration(g)
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}

// Restore undoes Trash: the item is back as it was, in its place.
func (st *Studio) Restore(id string) error {
	err := st.lib.Update(func(tx *storage.Tx) error {
		g, err := tx.Generation(id)
		if err != nil {
			return err
		}
		if !slices.Contains(g.Tags, trashTag) {
			return nil
		}
		g.Tags = slices.DeleteFunc(g.Tags, func(t string) bool { return t == trashTag })
		return tx.PutGeneration(g)
	})
	if err != nil {
		return fmt.Errorf("undo the delete of %s: %w", id, err)
	}
	return nil
}

// Purge makes a pending delete final (the record goes, and the pictures
// when nothing else uses them). An item that was not trashed, or is gone
// already, is left alone.
func (st *Studio) Purge(id string) error {
	err := st.lib.Update(func(tx *storage.Tx) error {
		g, err := tx.Generation(id)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !slices.Contains(g.Tags, trashTag) {
			return nil
		}
		return tx.DeleteGeneration(id)
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}

// Trashed lists the ids of pending deletes, newest first.
func (st *Studio) Trashed() ([]string, error) {
	var ids []string
	err := st.lib.View(func(tx *storage.Tx) error {
		var err error
		ids, err = trashed(tx)
		return err
	})
	return ids, err
}

func trashed(tx *storage.Tx) ([]string, error) {
	var ids []string
	q := storage.GenerationQuery{Limit: galleryPage}
	for {
		p, err := tx.ListGenerations(q)
		if err != nil {
			return nil, err
		}
		for _, g := range p.Items {
			if slices.Contains(g.Tags, trashTag) {
				ids = append(ids, g.ID)
			}
		}
		if p.Next == "" {
			return ids, nil
		}
		q.Before = p.Next
	}
}

// purgeTrash makes every pending delete final, in one transaction. It
// returns how many there were.
func (st *Studio) purgeTrash() (int, error) {
	var n int
	err := st.lib.Update(func(tx *storage.Tx) error {
		ids, err := trashed(tx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.DeleteGeneration(id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("finish pending deletes: %w", err)
	}
	return n, nil
}
