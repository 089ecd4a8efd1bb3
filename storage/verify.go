package storage

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Report is the result of Verify / CheckFile.
type Report struct {
	Subjects, Generations, Jobs, Blobs int
	BlobBytes                          int64
	// Problems is empty for a healthy library.
	Problems []string
}

// OK reports a healthy library.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) addf(format string, a ...any) {
	if len(r.Problems) < 1000 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
	}
}

// verify runs bbolt's page-level consistency check and then the library's
// own: every record decodes, every blob reference resolves, every stored
// blob matches its digest, and reference counts equal the references the
// records hold (so no blob is orphaned or freed too early).
func verify(btx *bolt.Tx) *Report {
	r := &Report{}
	for err := range btx.Check() {
		r.addf("bbolt: %v", err)
	}
	t := &Tx{tx: btx}
	if v, err := readSchema(btx); err != nil || v != SchemaVersion {
		r.addf("schema version %d (want %d): %v", v, SchemaVersion, err)
		return r
	}
	want, err := t.countRefs(func(kind, id string, err error) {
		r.addf("%s %s: %v", kind, id, err)
	}, r)
	if err != nil {
		r.addf("%v", err)
		return r
	}
	blobs, _ := t.bucket(bucketBlobs)
	refs, _ := t.bucket(bucketRefs)
	_ = blobs.ForEach(func(k, v []byte) error {
		r.Blobs++
		r.BlobBytes += int64(len(v))
		var ref BlobRef
		if len(k) != len(ref) {
			r.addf("blob key of %d bytes", len(k))
			return nil
		}
		copy(ref[:], k)
		if RefOf(v) != ref {
			r.addf("blob %s: content does not match its digest", ref)
		}
		n, err := t.refCount(ref)
		if err != nil {
			r.addf("%v", err)
		} else if n != want[ref] {
			if want[ref] == 0 {
				r.addf("blob %s is orphaned (count %d, no record refers to it)", ref, n)
			} else {
				r.addf("blob %s has reference count %d, records hold %d", ref, n, want[ref])
			}
		}
		return nil
	})
	for ref := range want {
		if !t.HasBlob(ref) {
			r.addf("blob %s is referenced but missing", ref)
		}
	}
	_ = refs.ForEach(func(k, _ []byte) error {
		if blobs.Get(k) == nil {
			r.addf("reference count for absent blob %x", k)
		}
		return nil
	})
	return r
}

// countRefs walks every record and counts the blob references it holds.
func (t *Tx) countRefs(bad func(kind, id string, err error), r *Report) (map[BlobRef]uint64, error) {
	want := map[BlobRef]uint64{}
	add := func(refs []BlobRef) {
		for _, ref := range refs {
			want[ref]++
		}
	}
	for _, b := range []struct {
		name []byte
		fn   func(k, v []byte) error
	}{
		{bucketSubjects, func(k, v []byte) error {
			s, err := decodeSubject(string(k), v)
			if err != nil {
				bad("subject", string(k), err)
				return nil
			}
			if r != nil {
				r.Subjects++
			}
			add(s.refs())
			return nil
		}},
		{bucketGenerations, func(k, v []byte) error {
			g, err := decodeGeneration(string(k), v)
			if err != nil {
				bad("generation", string(k), err)
				return nil
			}
			if r != nil {
				r.Generations++
			}
			add(g.refs())
			return nil
		}},
		{bucketJobs, func(k, v []byte) error {
			if _, err := decodeJob(string(k), v); err != nil {
				bad("job", string(k), err)
			} else if r != nil {
				r.Jobs++
			}
			return nil
		}},
	} {
		bk, err := t.bucket(b.name)
		if err != nil {
			return nil, err
		}
		if err := bk.ForEach(b.fn); err != nil {
			return nil, err
		}
	}
	return want, nil
}

// Verify checks the open library (see verify). It runs in a write
// transaction that it rolls back: bbolt's page check reads the shared
// freelist, which is only stable while no other writer runs (in a read
// transaction it reports pages freed by concurrent commits as damage).
func (l *Library) Verify() (*Report, error) {
	btx, err := l.db.Begin(true)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer btx.Rollback()
	return verify(btx), nil
}

// GCStats says what CollectGarbage did.
type GCStats struct {
	Removed      int   // blobs no record referred to
	RemovedBytes int64 //
	Recounted    int   // blobs whose count was wrong and was set right
}

// CollectGarbage is the safety net behind reference counting: it recounts
// references from the records, deletes blobs nothing refers to and repairs
// wrong counts, all in one transaction. Records that cannot be decoded
// stop it (their blobs must not be taken from them).
func (l *Library) CollectGarbage() (GCStats, error) {
	var st GCStats
	err := l.db.Update(func(btx *bolt.Tx) error {
		t := &Tx{tx: btx}
		var bad error
		want, err := t.countRefs(func(kind, id string, err error) {
			if bad == nil {
				bad = fmt.Errorf("%s %s: %w", kind, id, err)
			}
		}, nil)
		if err != nil {
			return err
		}
		if bad != nil {
			return fmt.Errorf("garbage collection stopped: %w", bad)
		}
		blobs, _ := t.bucket(bucketBlobs)
		var drop []BlobRef
		var fix []BlobRef
		_ = blobs.ForEach(func(k, v []byte) error {
			var ref BlobRef
			copy(ref[:], k)
			if want[ref] == 0 {
				drop = append(drop, ref)
				st.RemovedBytes += int64(len(v))
			} else if n, _ := t.refCount(ref); n != want[ref] {
				fix = append(fix, ref)
			}
			return nil
		})
		for _, ref := range drop {
			if err := t.deleteBlob(ref); err != nil {
				return err
			}
		}
		for _, ref := range fix {
			if err := t.setRefCount(ref, want[ref]); err != nil {
				return err
			}
		}
		// Counts left for blobs that are gone.
		refs, _ := t.bucket(bucketRefs)
		var stale [][]byte
		_ = refs.ForEach(func(k, _ []byte) error {
			if blobs.Get(k) == nil {
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range stale {
			if err := refs.Delete(k); err != nil {
				return err
			}
		}
		st.Removed, st.Recounted = len(drop), len(fix)+len(stale)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("collect garbage: %w", err)
	}
	return st, nil
}
