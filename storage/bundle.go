package storage

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// A .oneactor bundle is a zip archive holding:
//
//	manifest.json   format, version, model fingerprint, and the size and
//	                SHA-256 of every other file
//	subject.cbor    the subject record (same encoding as in the library)
//	blobs/<sha256>  every blob the subject refers to (images, latents, h,
//	                projector weights, thumbnail)
//
// Zip because every platform can open one to look inside, and Go reads it
// with random access (no need to trust the order of entries).
const (
	BundleFormat    = "oneactor-subject"
	BundleVersion   = 1
	BundleExtension = ".oneactor"

	manifestName = "manifest.json"
	subjectName  = "subject.cbor"
	blobPrefix   = "blobs/"
)

type bundleManifest struct {
	Format           string       `json:"format"`
	Version          int          `json:"version"`
	Created          time.Time    `json:"created"`
	ModelFingerprint string       `json:"model_fingerprint"`
	SubjectName      string       `json:"subject_name"`
	Files            []bundleFile `json:"files"`
}

type bundleFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ExportSubject writes subject id as a bundle to w, from one consistent
// snapshot of the library.
func (l *Library) ExportSubject(id string, w io.Writer) error {
	return l.View(func(t *Tx) error {
		s, err := t.Subject(id)
		if err != nil {
			return err
		}
		rec, err := marshal(s)
		if err != nil {
			return err
		}
		blobs, err := t.bucket(bucketBlobs)
		if err != nil {
			return err
		}
		seen := map[BlobRef]bool{}
		var refs []BlobRef
		for _, r := range s.refs() {
			if !seen[r] {
				seen[r] = true
				refs = append(refs, r)
			}
		}
		sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
		m := bundleManifest{
			Format: BundleFormat, Version: BundleVersion, Created: now(),
			ModelFingerprint: s.ModelFingerprint, SubjectName: s.Name,
		}
		sum := sha256.Sum256(rec)
		m.Files = append(m.Files, bundleFile{subjectName, int64(len(rec)), hex.EncodeToString(sum[:])})
		contents := [][]byte{rec}
		for _, r := range refs {
			v := blobs.Get(r[:]) // valid until the transaction ends
			if v == nil {
				return fmt.Errorf("export subject %s: blob %s: %w", id, r, ErrNotFound)
			}
			m.Files = append(m.Files, bundleFile{blobPrefix + r.String(), int64(len(v)), r.String()})
			contents = append(contents, v)
		}
		man, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		zw := zip.NewWriter(w)
		put := func(name string, method uint16, data []byte) error {
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: s.Updated})
			if err != nil {
				return err
			}
			_, err = fw.Write(data)
			return err
		}
		if err := put(manifestName, zip.Deflate, man); err != nil {
			return fmt.Errorf("export subject %s: %w", id, err)
		}
		for i, f := range m.Files {
			// Images, latents and features barely compress; store them.
			method := zip.Store
			if f.Name == subjectName {
				method = zip.Deflate
			}
			if err := put(f.Name, method, contents[i]); err != nil {
				return fmt.Errorf("export subject %s: %w", id, err)
			}
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("export subject %s: %w", id, err)
		}
		return nil
	})
}

// ExportSubjectFile writes the bundle to path atomically.
func (l *Library) ExportSubjectFile(id, path string) error {
	_, err := writeAtomically(path, func(w io.Writer) (int64, error) {
		return 0, l.ExportSubject(id, w)
	})
	return err
}
