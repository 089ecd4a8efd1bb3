package storage

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Tx is one transaction over the library. A write transaction (Update)
// commits everything it did or nothing: a subject, its blobs and the job
// that produced it become visible together.
type Tx struct {
	tx *bolt.Tx
	// added are blobs stored by this transaction; those no record refers
	// to when it ends are dropped again, so a failed or partial writer
	// cannot leave orphans behind.
	added map[BlobRef]struct{}
}

// View runs fn in a read-only transaction (a consistent snapshot).
func (l *Library) View(fn func(*Tx) error) error {
	return l.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
}

// Update runs fn in a write transaction, committed if fn returns nil.
func (l *Library) Update(fn func(*Tx) error) error {
	return l.db.Update(func(btx *bolt.Tx) error {
		t := &Tx{tx: btx, added: map[BlobRef]struct{}{}}
		if err := fn(t); err != nil {
			return err
		}
		return t.dropUnreferenced()
	})
}

func (t *Tx) bucket(name []byte) (*bolt.Bucket, error) {
	b := t.tx.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("library has no %s bucket", name)
	}
	return b, nil
}

func (t *Tx) dropUnreferenced() error {
	for ref := range t.added {
		n, err := t.refCount(ref)
		if err != nil {
			return err
		}
		if n == 0 {
			if err := t.deleteBlob(ref); err != nil {
				return err
			}
		}
	}
	return nil
}
