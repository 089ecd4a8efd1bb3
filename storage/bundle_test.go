package storage

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type entry struct {
	name string
	data []byte
}

func bundleEntries(t *testing.T, bundle []byte) []entry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	var out []entry
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		out = append(out, entry{f.Name, b})
	}
	return out
}

func zipOf(t *testing.T, entries []entry, method uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	zw.Close()
	return buf.Bytes()
}

func editManifest(t *testing.T, entries []entry, edit func(m *bundleManifest)) []entry {
	t.Helper()
	out := append([]entry(nil), entries...)
	for i, e := range out {
		if e.name == manifestName {
			var m bundleManifest
			if err := json.Unmarshal(e.data, &m); err != nil {
				t.Fatal(err)
			}
			edit(&m)
			b, _ := json.Marshal(m)
			out[i].data = b
		}
	}
	return out
}

func exportOne(t *testing.T) (*Subject, []byte) {
	t.Helper()
	src, _ := openTemp(t)
	var s *Subject
	if err := src.Update(func(tx *Tx) error {
		var err error
		if s, err = makeSubject(tx, 6, 3); err != nil {
			return err
		}
		return tx.PutSubject(s)
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.ExportSubject(s.ID, &buf); err != nil {
		t.Fatal(err)
	}
	return s, buf.Bytes()
}

func TestBundleRoundTrip(t *testing.T) {
	want, bundle := exportOne(t)
	dst, dir := openTemp(t)
	path := filepath.Join(t.TempDir(), "mug"+BundleExtension)
	if err := writeFile(path, bundle); err != nil {
		t.Fatal(err)
	}
	got, err := dst.ImportSubjectFile(path, ImportOptions{ModelFingerprint: want.ModelFingerprint})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := dst.Subject(got.ID)
	if err != nil {
		t.Fatal(err)
	}
	w := *want
	w.Updated = stored.Updated
	if !reflect.DeepEqual(stored, &w) {
		t.Fatalf("imported subject differs:\n got %+v\nwant %+v", stored, &w)
	}
	for _, im := range append(stored.Auxiliaries, stored.Target) {
		if _, err := dst.Blob(im.H.Data); err != nil {
			t.Fatal(err)
		}
	}
	// Importing again keeps both copies under different ids.
	again, err := dst.ImportSubject(bytes.NewReader(bundle), int64(len(bundle)), ImportOptions{})
	if err != nil || again.ID == got.ID {
		t.Fatalf("second import: %v (id %s)", err, again.ID)
	}
	mustVerify(t, dst)
	_ = dir
}

func TestBundleFingerprintMismatch(t *testing.T) {
	_, bundle := exportOne(t)
	dst, dir := openTemp(t)
	before := fileDigest(t, filepath.Join(dir, FileName))
	_, err := dst.ImportSubject(bytes.NewReader(bundle), int64(len(bundle)), ImportOptions{ModelFingerprint: "sha256:model-b"})
	var fe *FingerprintMismatchError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "import anyway") {
		t.Fatalf("mismatch: %v", err)
	}
	if !bytes.Equal(before, fileDigest(t, filepath.Join(dir, FileName))) {
		t.Fatal("refused import wrote to the library")
	}
	s, err := dst.ImportSubject(bytes.NewReader(bundle), int64(len(bundle)), ImportOptions{ModelFingerprint: "sha256:model-b", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if stored, _ := dst.Subject(s.ID); !stored.Incompatible {
		t.Fatal("forced import not marked incompatible")
	}
	// Carried back to a library on the subject's own model, the mark goes.
	var again bytes.Buffer
	if err := dst.ExportSubject(s.ID, &again); err != nil {
		t.Fatal(err)
	}
	home, _ := openTemp(t)
	back, err := home.ImportSubject(bytes.NewReader(again.Bytes()), int64(again.Len()), ImportOptions{ModelFingerprint: "sha256:model-a"})
	if err != nil || back.Incompatible {
		t.Fatalf("import on the right model: %v, incompatible %v", err, back != nil && back.Incompatible)
	}
}

func TestBundleRefusals(t *testing.T) {
	_, bundle := exportOne(t)
	good := bundleEntries(t, bundle)
	var someBlob string
	for _, e := range good {
		if strings.HasPrefix(e.name, blobPrefix) {
			someBlob = e.name
		}
	}
	mutate := func(f func(e *entry)) []entry {
		out := make([]entry, len(good))
		for i, e := range good {
			out[i] = entry{e.name, append([]byte(nil), e.data...)}
			f(&out[i])
		}
		return out
	}
	cases := []struct {
		name   string
		bundle []byte
		limits *ImportLimits
		msg    string
	}{
		{"not a zip", []byte("PK not really"), nil, "not a readable zip"},
		{"truncated", bundle[:len(bundle)*2/3], nil, "not a readable zip"},
		{"path traversal", zipOf(t, append(good, entry{"../../.bashrc", []byte("evil")}), zip.Deflate), nil, "unexpected file"},
		{"absolute path", zipOf(t, append(good, entry{"/etc/passwd", []byte("evil")}), zip.Deflate), nil, "unexpected file"},
		{"blob under traversal", zipOf(t, mutate(func(e *entry) {
			if e.name == someBlob {
				e.name = "blobs/../" + e.name[len(blobPrefix):]
			}
		}), zip.Store), nil, "unexpected file"},
		{"flipped byte in a blob", zipOf(t, mutate(func(e *entry) {
			if e.name == someBlob {
				e.data[len(e.data)/2] ^= 0x40
			}
		}), zip.Store), nil, "checksum mismatch"},
		{"flipped byte in the record", zipOf(t, mutate(func(e *entry) {
			if e.name == subjectName {
				e.data[len(e.data)-3] ^= 0x01
			}
		}), zip.Deflate), nil, "checksum mismatch"},
		{"unknown version", zipOf(t, editManifest(t, good, func(m *bundleManifest) { m.Version = 7 }), zip.Deflate), nil, "bundle version 7 is unknown"},
		{"other format", zipOf(t, editManifest(t, good, func(m *bundleManifest) { m.Format = "zip" }), zip.Deflate), nil, "format"},
		{"missing blob", zipOf(t, mutate(func(e *entry) {
			if e.name == someBlob {
				e.name = manifestName + "x"
			}
		}), zip.Deflate), nil, "unexpected file"},
		{"unlisted blob", zipOf(t, append(good, entry{blobPrefix + RefOf([]byte("x")).String(), []byte("x")}), zip.Deflate), nil, "not in the manifest"},
		{"no manifest", zipOf(t, good[1:], zip.Deflate), nil, "no manifest"},
		{"absurd size", zipOf(t, append(editManifest(t, good, func(m *bundleManifest) {
			m.Files = append(m.Files, bundleFile{blobPrefix + RefOf(make([]byte, 5<<20)).String(), 5 << 20, RefOf(make([]byte, 5<<20)).String()})
		}), entry{blobPrefix + RefOf(make([]byte, 5<<20)).String(), make([]byte, 5<<20)}), zip.Deflate),
			&ImportLimits{MaxBundleBytes: 1 << 30, MaxFileBytes: 1 << 20, MaxFiles: 100}, "over the 1048576 byte limit"},
		{"too many files", bundle, &ImportLimits{MaxBundleBytes: 1 << 30, MaxFileBytes: 1 << 30, MaxFiles: 3}, "over the limit of 3"},
		{"file too large", bundle, &ImportLimits{MaxBundleBytes: 100, MaxFileBytes: 1 << 30, MaxFiles: 100}, "over the 100 byte limit"},
	}
	dst, dir := openTemp(t)
	path := filepath.Join(dir, FileName)
	before := fileDigest(t, path)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dst.ImportSubject(bytes.NewReader(c.bundle), int64(len(c.bundle)), ImportOptions{Limits: c.limits})
			var be *BundleError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want a bundle refusal mentioning %q", err, c.msg)
			}
			if !bytes.Equal(before, fileDigest(t, path)) {
				t.Fatal("refused bundle changed the library file")
			}
		})
	}
	if rep := mustVerify(t, dst); rep.Subjects != 0 || rep.Blobs != 0 {
		t.Fatalf("library after refusals: %+v", rep)
	}
}

// A checksum that only fails inside the write transaction (the content
// changed between the check and the write) rolls everything back.
func TestBundleLateFailureRollsBack(t *testing.T) {
	_, bundle := exportOne(t)
	dst, dir := openTemp(t)
	path := filepath.Join(dir, FileName)
	before := fileDigest(t, path)
	b, err := openBundle(bytes.NewReader(bundle), int64(len(bundle)), DefaultImportLimits)
	if err != nil {
		t.Fatal(err)
	}
	last := b.blobNames[len(b.blobNames)-1]
	w := b.want[last]
	w.SHA256 = strings.Repeat("0", 64)
	b.want[last] = w
	err = dst.Update(func(tx *Tx) error {
		for _, name := range b.blobNames {
			data, err := b.read(name)
			if err != nil {
				return err
			}
			if _, err := tx.PutBlob(data); err != nil {
				return err
			}
		}
		return tx.PutSubject(b.subject)
	})
	if err == nil || !bytes.Equal(before, fileDigest(t, path)) {
		t.Fatalf("late failure: %v, file changed: %v", err, !bytes.Equal(before, fileDigest(t, path)))
	}
}
