// Package toyworld embeds the ToyWorld demo model family's default export
// (trained by tools/toyworld), so a new user can make pictures before
// adding a real Stable Diffusion model.
package toyworld

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Name is how users and recipes refer to the bundled model.
const Name = "toyworld"

//go:embed all:*
var files embed.FS

// FS is the model folder (model_index.json at its root).
func FS() fs.FS { return files }

var (
	hashOnce sync.Once
	hashVal  string
)

// Fingerprint identifies this build's bundled model (content hash).
func Fingerprint() string {
	hashOnce.Do(func() {
		h := sha256.New()
		fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(p) == ".go" {
				return err
			}
			data, err := files.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
			h.Write(data)
			return nil
		})
		hashVal = hex.EncodeToString(h.Sum(nil))[:16]
	})
	return hashVal
}

// ErrNotBundled means this build carries no exported model (only the
// tokenizer): tools/toyworld has not been run for it.
var ErrNotBundled = errors.New("this build has no bundled ToyWorld model (run tools/toyworld/build_all.sh)")

// Extract writes the bundled model under root (once per content hash, as
// ONNX Runtime needs real files for external weights) and returns its
// folder. A partly written folder from a crash is never used: files go to
// a temporary folder renamed into place at the end.
func Extract(root string) (string, error) {
	if _, err := fs.Stat(files, "model_index.json"); err != nil {
		return "", ErrNotBundled
	}
	dir := filepath.Join(root, Name+"-"+Fingerprint())
	if st, err := os.Stat(filepath.Join(dir, "model_index.json")); err == nil && !st.IsDir() {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("extract bundled model: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".extract-*")
	if err != nil {
		return "", fmt.Errorf("extract bundled model: %w", err)
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." || filepath.Ext(p) == ".go" {
			return err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("extract bundled model: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "model_index.json")); statErr == nil {
			return dir, nil // another process won the race
		}
		return "", fmt.Errorf("extract bundled model: %w", err)
	}
	return dir, nil
}
