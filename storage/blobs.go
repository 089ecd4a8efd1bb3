package storage

import (
	"encoding/binary"
	"fmt"
)

// MaxBlobSize bounds one blob (bbolt's own value limit is larger). The
// biggest expected blobs are projector weights and SDXL h features
// (1280×32×32 float32 ≈ 5 MiB).
const MaxBlobSize = 1 << 30

// PutBlob stores content and returns its reference. Storing content that
// exists is free. The blob lives on only if a record written in the same
// transaction refers to it.
func (t *Tx) PutBlob(data []byte) (BlobRef, error) {
	if len(data) > MaxBlobSize {
		return BlobRef{}, fmt.Errorf("blob of %d bytes is over the %d byte limit", len(data), MaxBlobSize)
	}
	ref := RefOf(data)
	blobs, err := t.bucket(bucketBlobs)
	if err != nil {
		return ref, err
	}
	if blobs.Get(ref[:]) != nil {
		return ref, nil
	}
	// bbolt needs a non-nil value; an empty blob is a legal (if odd) one.
	if err := blobs.Put(ref[:], append([]byte{}, data...)); err != nil {
		return ref, fmt.Errorf("store blob %s: %w", ref, err)
	}
	if t.added != nil {
		t.added[ref] = struct{}{}
	}
	return ref, nil
}

// Blob returns a copy of a blob's content (valid after the transaction).
func (t *Tx) Blob(ref BlobRef) ([]byte, error) {
	blobs, err := t.bucket(bucketBlobs)
	if err != nil {
		return nil, err
	}
	v := blobs.Get(ref[:])
	if v == nil {
		return nil, fmt.Errorf("blob %s: %w", ref, ErrNotFound)
	}
	return append([]byte(nil), v...), nil
}

// HasBlob reports whether the blob is stored.
func (t *Tx) HasBlob(ref BlobRef) bool {
	b := t.tx.Bucket(bucketBlobs)
	return b != nil && b.Get(ref[:]) != nil
}

// Blob reads one blob in its own transaction.
func (l *Library) Blob(ref BlobRef) ([]byte, error) {
	var out []byte
	err := l.View(func(t *Tx) error {
		var err error
		out, err = t.Blob(ref)
		return err
	})
	return out, err
}

func (t *Tx) refCount(ref BlobRef) (uint64, error) {
	refs, err := t.bucket(bucketRefs)
	if err != nil {
		return 0, err
	}
	v := refs.Get(ref[:])
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("reference count of blob %s is damaged", ref)
	}
	return binary.BigEndian.Uint64(v), nil
}

func (t *Tx) setRefCount(ref BlobRef, n uint64) error {
	refs, err := t.bucket(bucketRefs)
	if err != nil {
		return err
	}
	if n == 0 {
		return refs.Delete(ref[:])
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return refs.Put(ref[:], b[:])
}

// retarget moves references from the blobs of an old record version to
// those of the new one: counts of new refs go up first, then old ones go
// down, and a blob whose count reaches zero is deleted at once.
func (t *Tx) retarget(old, new []BlobRef) error {
	for _, r := range new {
		if !t.HasBlob(r) {
			return fmt.Errorf("record refers to blob %s, which is not stored: %w", r, ErrNotFound)
		}
		n, err := t.refCount(r)
		if err != nil {
			return err
		}
		if err := t.setRefCount(r, n+1); err != nil {
			return fmt.Errorf("reference blob %s: %w", r, err)
		}
	}
	for _, r := range old {
		n, err := t.refCount(r)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("reference count of blob %s would go below zero", r)
		}
		if n == 1 {
			if err := t.deleteBlob(r); err != nil {
				return err
			}
			continue
		}
		if err := t.setRefCount(r, n-1); err != nil {
			return fmt.Errorf("release blob %s: %w", r, err)
		}
	}
	return nil
}

func (t *Tx) deleteBlob(ref BlobRef) error {
	blobs, err := t.bucket(bucketBlobs)
	if err != nil {
		return err
	}
	if err := blobs.Delete(ref[:]); err != nil {
		return fmt.Errorf("delete blob %s: %w", ref, err)
	}
	return t.setRefCount(ref, 0)
}
