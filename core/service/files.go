package service

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PicturesDir is the folder (in the data folder) where pictures are written
// as PNG files for other programs: "open containing folder" shows it.
func (st *Studio) PicturesDir() string { return filepath.Join(st.svc.cfg.DataDir, "pictures") }

// PictureFile writes an item's PNG (recipe text chunk included) into
// PicturesDir, unless it is there already, and returns its path. The name
// is made from the item (time, seed, id), so the same item always lands
// in the same file and two items never share one.
func (st *Studio) PictureFile(id string) (string, error) {
	it, err := st.Item(id)
	if err != nil {
		return "", err
	}
	dir := st.PicturesDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("make the pictures folder: %w", err)
	}
	path := filepath.Join(dir, PictureFileName(it))
	g, err := st.lib.Generation(id)
	if err != nil {
		return "", err
	}
	data, err := st.lib.Blob(g.Image)
	if err != nil {
		return "", fmt.Errorf("picture of %s: %w", id, err)
	}
	switch old, err := os.ReadFile(path); {
	case err == nil && bytes.Equal(old, data):
		return path, nil
	case err == nil:
		// Not what this item holds (edited by hand?): keep it, write beside.
		path = strings.TrimSuffix(path, ".png") + "-" + id + ".png"
		if old, err := os.ReadFile(path); err == nil {
			if bytes.Equal(old, data) {
				return path, nil
			}
			return "", fmt.Errorf("%s exists and holds another picture; move it away and try again", path)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if err := st.Export(id, path); err != nil {
		return "", err
	}
	return path, nil
}

// PictureFileName is the file name PictureFile gives an item: for a
// generated picture its time (UTC), seed and the end of its id; for an
// imported one the end of its id and its original name.
func PictureFileName(it Item) string {
	short := it.ID
	if len(short) > 8 {
		short = short[len(short)-8:]
	}
	if it.Reference {
		name := strings.TrimSuffix(safeName(it.Name), filepath.Ext(it.Name))
		if name == "" {
			name = "picture"
		}
		return fmt.Sprintf("reference-%s-%s.png", short, name)
	}
	return fmt.Sprintf("oneactor-%s-seed%d-%s.png", it.Time.UTC().Format("20060102-150405"), it.Recipe.Seed, short)
}

// safeName keeps letters, digits, dot, dash and underscore.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), ".")
}
