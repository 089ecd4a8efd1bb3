package storage

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this code writes. History:
//
//	1: meta, subjects, generations (one subject per recipe, tags as one
//	   comma-separated string), blobs, blobrefs, settings.
//	2: generations carry a list of subjects and a tag list; new buckets
//	   models and jobs.
//
// Every older version has a committed fixture in testdata/ and a test that
// opens it (migrate_test.go).
const SchemaVersion = 2

var (
	bucketMeta        = []byte("meta")
	bucketSubjects    = []byte("subjects")
	bucketGenerations = []byte("generations")
	bucketBlobs       = []byte("blobs")    // sha256 → content
	bucketRefs        = []byte("blobrefs") // sha256 → uint64 BE reference count
	bucketSettings    = []byte("settings")
	bucketModels      = []byte("models")
	bucketJobs        = []byte("jobs")

	keySchema = []byte("schema")
)

// bucketsV2 are the buckets schema 2 has; Open creates any that are missing.
var bucketsV2 = [][]byte{bucketMeta, bucketSubjects, bucketGenerations, bucketBlobs, bucketRefs, bucketSettings, bucketModels, bucketJobs}

// readSchema returns the schema version, or 0 for a file with no buckets at
// all (a brand new bbolt file). A file with buckets but no version record
// is some other program's database.
func readSchema(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func(_ []byte, _ *bolt.Bucket) error { empty = false; return nil })
		if empty {
			return 0, nil
		}
		return 0, fmt.Errorf("no schema record")
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return 0, fmt.Errorf("schema record of %d bytes", len(v))
	}
	n := binary.BigEndian.Uint64(v)
	if n == 0 || n > 1<<20 {
		return 0, fmt.Errorf("schema version %d", n)
	}
	return int(n), nil
}

func writeSchema(tx *bolt.Tx, v int) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("meta bucket: %w", err)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return meta.Put(keySchema, b[:])
}

// upgrade brings a file at schema version `from` (0: new) to SchemaVersion
// in the caller's transaction, so a crash mid-migration leaves the old
// version intact.
func upgrade(tx *bolt.Tx, from int) error {
	for v := from; v < SchemaVersion; v++ {
		if v == 0 {
			break // a new file gets the current layout directly
		}
		m, ok := migrations[v]
		if !ok {
			return fmt.Errorf("no migration from schema %d", v)
		}
		if err := m(tx); err != nil {
			return fmt.Errorf("migrate schema %d→%d: %w", v, v+1, err)
		}
	}
	for _, name := range bucketsV2 {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
	}
	return writeSchema(tx, SchemaVersion)
}
