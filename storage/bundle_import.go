package storage

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
)

// ImportLimits bound what an import will read; a bundle past them is
// refused before anything is decompressed.
type ImportLimits struct {
	MaxBundleBytes int64 // compressed file size, and the sum of the files inside
	MaxFileBytes   int64 // one file inside
	MaxFiles       int
}

// DefaultImportLimits fit the largest real subject (SDXL: 11 h features of
// 5 MiB, projector weights of a few hundred MiB) with room to spare.
var DefaultImportLimits = ImportLimits{MaxBundleBytes: 4 << 30, MaxFileBytes: 1 << 30, MaxFiles: 1000}

const (
	maxManifestBytes = 1 << 20
	maxRecordBytes   = 64 << 20
)

// ImportOptions control ImportSubject.
type ImportOptions struct {
	// ModelFingerprint is the model the user works with; a bundle for
	// another model is refused with *FingerprintMismatchError unless Force.
	// Empty: no check.
	ModelFingerprint string
	// Force imports a bundle for another model, marked Incompatible.
	Force  bool
	Limits *ImportLimits
}

var blobEntry = regexp.MustCompile(`^blobs/[0-9a-f]{64}$`)

// ImportSubjectFile imports the bundle at path (see ImportSubject).
func (l *Library) ImportSubjectFile(path string, opts ImportOptions) (*Subject, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &BundleError{Reason: "cannot open the bundle", Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &BundleError{Reason: "cannot read the bundle", Err: err}
	}
	return l.ImportSubject(f, st.Size(), opts)
}

// ImportSubject validates a bundle completely — names, sizes, manifest
// version, every checksum, the record and its references — and then adds
// the subject and its blobs in one transaction. On any refusal nothing is
// written. The subject keeps its id unless the library has it already.
func (l *Library) ImportSubject(r io.ReaderAt, size int64, opts ImportOptions) (*Subject, error) {
	lim := DefaultImportLimits
	if opts.Limits != nil {
		lim = *opts.Limits
	}
	b, err := openBundle(r, size, lim)
	if err != nil {
		return nil, err
	}
	s := b.subject
	if opts.ModelFingerprint != "" {
		// The mark describes this library's model, not the exporter's.
		s.Incompatible = s.ModelFingerprint != opts.ModelFingerprint
		if s.Incompatible && !opts.Force {
			return nil, &FingerprintMismatchError{Bundle: s.ModelFingerprint, Want: opts.ModelFingerprint}
		}
	}
	err = l.Update(func(t *Tx) error {
		for _, name := range b.blobNames {
			data, err := b.read(name)
			if err != nil {
				return err
			}
			if _, err := t.PutBlob(data); err != nil {
				return err
			}
		}
		if !validID(s.ID) {
			s.ID = "" // not one of ours: give it a proper one
		} else if _, err := t.Subject(s.ID); err == nil {
			s.ID = "" // keep both: the library's copy and this one
		} else if !isNotFound(err) {
			return err
		}
		return t.PutSubject(s)
	})
	if err != nil {
		var be *BundleError
		if errors.As(err, &be) {
			return nil, be
		}
		return nil, fmt.Errorf("import subject: %w", err)
	}
	return s, nil
}

type openedBundle struct {
	zr        *zip.Reader
	files     map[string]*zip.File
	want      map[string]bundleFile
	blobNames []string
	subject   *Subject
}

func openBundle(r io.ReaderAt, size int64, lim ImportLimits) (*openedBundle, error) {
	refuse := func(reason string, err error) (*openedBundle, error) {
		return nil, &BundleError{Reason: reason, Err: err}
	}
	if size > lim.MaxBundleBytes {
		return refuse(fmt.Sprintf("the file is %d bytes, over the %d byte limit", size, lim.MaxBundleBytes), nil)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return refuse("not a OneActor bundle (not a readable zip archive)", err)
	}
	b := &openedBundle{zr: zr, files: map[string]*zip.File{}, want: map[string]bundleFile{}}
	if len(zr.File) > lim.MaxFiles {
		return refuse(fmt.Sprintf("%d files inside, over the limit of %d", len(zr.File), lim.MaxFiles), nil)
	}
	var total uint64
	for _, f := range zr.File {
		// Only our own three kinds of names: this rejects "../x", absolute
		// paths, backslashes, folders and anything else a crafted archive
		// might carry.
		if f.Name != manifestName && f.Name != subjectName && !blobEntry.MatchString(f.Name) {
			return refuse(fmt.Sprintf("unexpected file %q inside", f.Name), nil)
		}
		if _, dup := b.files[f.Name]; dup {
			return refuse(fmt.Sprintf("file %q appears twice", f.Name), nil)
		}
		if f.UncompressedSize64 > uint64(lim.MaxFileBytes) {
			return refuse(fmt.Sprintf("file %q claims %d bytes, over the %d byte limit", f.Name, f.UncompressedSize64, lim.MaxFileBytes), nil)
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxBundleBytes) {
			return refuse(fmt.Sprintf("contents add up to more than %d bytes", lim.MaxBundleBytes), nil)
		}
		b.files[f.Name] = f
	}
	mf, ok := b.files[manifestName]
	if !ok {
		return refuse("no manifest.json (not a OneActor bundle)", nil)
	}
	raw, err := readEntry(mf, maxManifestBytes)
	if err != nil {
		return refuse("manifest.json unreadable", err)
	}
	var m bundleManifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return refuse("manifest.json is not valid", err)
	}
	if m.Format != BundleFormat {
		return refuse(fmt.Sprintf("format %q is not %q", m.Format, BundleFormat), nil)
	}
	if m.Version != BundleVersion {
		return refuse(fmt.Sprintf("bundle version %d is unknown (this app reads version %d; a newer app may read it)", m.Version, BundleVersion), nil)
	}
	for _, f := range m.Files {
		if _, dup := b.want[f.Name]; dup || f.Name == manifestName {
			return refuse(fmt.Sprintf("manifest lists %q twice", f.Name), nil)
		}
		zf, ok := b.files[f.Name]
		if !ok {
			return refuse(fmt.Sprintf("manifest lists %q but the bundle lacks it", f.Name), nil)
		}
		if f.Size < 0 || uint64(f.Size) != zf.UncompressedSize64 {
			return refuse(fmt.Sprintf("file %q has %d bytes, the manifest says %d", f.Name, zf.UncompressedSize64, f.Size), nil)
		}
		if _, err := hex.DecodeString(f.SHA256); err != nil || len(f.SHA256) != 64 {
			return refuse(fmt.Sprintf("file %q has a malformed checksum", f.Name), nil)
		}
		if f.Name != subjectName {
			if f.Name != blobPrefix+f.SHA256 {
				return refuse(fmt.Sprintf("blob %q is listed with checksum %s", f.Name, f.SHA256), nil)
			}
			b.blobNames = append(b.blobNames, f.Name)
		}
		b.want[f.Name] = f
	}
	for name := range b.files {
		if _, listed := b.want[name]; !listed && name != manifestName {
			return refuse(fmt.Sprintf("file %q is not in the manifest", name), nil)
		}
	}
	if _, ok := b.want[subjectName]; !ok {
		return refuse("no subject record in the bundle", nil)
	}
	rec, err := b.read(subjectName)
	if err != nil {
		return nil, err
	}
	s, err := decodeSubject("in bundle", rec)
	if err != nil {
		return refuse("the subject record is damaged or from a newer app", err)
	}
	if s.ModelFingerprint != m.ModelFingerprint {
		return refuse("the manifest and the subject name different models", nil)
	}
	for _, ref := range s.refs() {
		if _, ok := b.want[blobPrefix+ref.String()]; !ok {
			return refuse(fmt.Sprintf("the subject needs blob %s, which the bundle lacks", ref), nil)
		}
	}
	// Check every blob's checksum now, streaming, so that a damaged bundle
	// is refused before the library is touched (import reads them again
	// inside its transaction and checks once more).
	for _, name := range b.blobNames {
		if err := b.verify(name); err != nil {
			return nil, err
		}
	}
	b.subject = s
	return b, nil
}

func readEntry(f *zip.File, max int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("%d bytes, over the %d byte limit", f.UncompressedSize64, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// Never trust the header's size: read at most one byte past it.
	data, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(data)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("holds %d bytes, its header says %d", len(data), f.UncompressedSize64)
	}
	return data, nil
}

// read returns a file's content after checking its size and checksum.
func (b *openedBundle) read(name string) ([]byte, error) {
	want := b.want[name]
	max := int64(maxRecordBytes)
	if name != subjectName {
		max = want.Size
	}
	data, err := readEntry(b.files[name], max)
	if err != nil {
		return nil, &BundleError{Reason: fmt.Sprintf("file %q", name), Err: err}
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != want.SHA256 {
		return nil, &BundleError{Reason: fmt.Sprintf("file %q is damaged (checksum mismatch)", name)}
	}
	return data, nil
}

func (b *openedBundle) verify(name string) error {
	f := b.files[name]
	rc, err := f.Open()
	if err != nil {
		return &BundleError{Reason: fmt.Sprintf("file %q", name), Err: err}
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return &BundleError{Reason: fmt.Sprintf("file %q is damaged", name), Err: err}
	}
	if uint64(n) != f.UncompressedSize64 {
		return &BundleError{Reason: fmt.Sprintf("file %q holds %d bytes, its header says %d", name, n, f.UncompressedSize64)}
	}
	if hex.EncodeToString(h.Sum(nil)) != b.want[name].SHA256 {
		return &BundleError{Reason: fmt.Sprintf("file %q is damaged (checksum mismatch)", name)}
	}
	return nil
}
