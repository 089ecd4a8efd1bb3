// Command fixturegen writes the committed fixtures of older library schema
// versions (storage/testdata/schema-vN.db) that the migration tests open.
// It writes the frozen record shapes of each version directly with bbolt,
// exactly as that version of the app did.
//
//	go run ./storage/internal/fixturegen -out storage/testdata
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fxamacker/cbor/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/oneactor/oneactor-desktop/storage/internal/schemav1"
)

func main() {
	out := flag.String("out", "storage/testdata", "folder for the fixture files")
	flag.Parse()
	if err := writeV1(filepath.Join(*out, "schema-v1.db")); err != nil {
		fmt.Fprintln(os.Stderr, "fixturegen:", err)
		os.Exit(1)
	}
}

func writeV1(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	os.Remove(path)
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return err
	}
	d := schemav1.Sample()
	return db.Update(func(tx *bolt.Tx) error {
		b := map[string]*bolt.Bucket{}
		for _, name := range schemav1.Buckets {
			bk, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			b[name] = bk
		}
		var ver [8]byte
		binary.BigEndian.PutUint64(ver[:], schemav1.Version)
		if err := b["meta"].Put([]byte("schema"), ver[:]); err != nil {
			return err
		}
		for _, blob := range d.Blobs {
			if err := b["blobs"].Put(schemav1.Ref(blob), blob); err != nil {
				return err
			}
		}
		counts := map[string]uint64{}
		ref := func(r []byte) {
			if len(r) > 0 {
				counts[string(r)]++
			}
		}
		put := func(bk *bolt.Bucket, id string, v any) error {
			buf, err := em.Marshal(v)
			if err != nil {
				return err
			}
			return bk.Put([]byte(id), buf)
		}
		for _, s := range d.Subjects {
			for _, im := range append([]schemav1.SubjectImage{s.Target}, s.Auxiliaries...) {
				ref(im.Image)
				ref(im.Latent.Data)
				ref(im.H.Data)
			}
			ref(s.Projector)
			ref(s.Thumbnail)
			if err := put(b["subjects"], s.ID, s); err != nil {
				return err
			}
		}
		for _, g := range d.Generations {
			ref(g.Image)
			ref(g.Thumbnail)
			ref(g.Recipe.InitImage)
			if g.Recipe.Control != nil {
				ref(g.Recipe.Control.Image)
			}
			if err := put(b["generations"], g.ID, g); err != nil {
				return err
			}
		}
		for r, n := range counts {
			var c [8]byte
			binary.BigEndian.PutUint64(c[:], n)
			if err := b["blobrefs"].Put([]byte(r), c[:]); err != nil {
				return err
			}
		}
		for k, v := range d.Settings {
			if err := b["settings"].Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}
