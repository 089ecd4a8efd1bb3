package storage

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/oneactor/oneactor-desktop/storage/internal/schemav1"
)

// migrations[v] turns a schema v file into schema v+1 inside one write
// transaction (upgrade creates the buckets of the newest schema after).
var migrations = map[int]func(*bolt.Tx) error{
	1: migrateV1toV2,
}

// migrateV1toV2 rewrites every generation: the single subject and its flat
// guidance fields become a one-element Subjects list, and the
// comma-separated tag string becomes a list. Blob references do not change,
// so reference counts stay valid.
func migrateV1toV2(tx *bolt.Tx) error {
	gens := tx.Bucket(bucketGenerations)
	if gens == nil {
		return fmt.Errorf("schema 1 library has no generations bucket")
	}
	type kv struct{ k, v []byte }
	var out []kv
	err := gens.ForEach(func(k, v []byte) error {
		var old schemav1.Generation
		if err := unmarshal(v, &old); err != nil {
			return fmt.Errorf("generation %s: %w", k, err)
		}
		g, err := generationFromV1(&old)
		if err != nil {
			return fmt.Errorf("generation %s: %w", k, err)
		}
		buf, err := marshal(g)
		if err != nil {
			return err
		}
		out = append(out, kv{append([]byte(nil), k...), buf})
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: bbolt forbids changing a bucket mid-ForEach.
	for _, e := range out {
		if err := gens.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

func generationFromV1(o *schemav1.Generation) (*Generation, error) {
	if o.V != 1 {
		return nil, fmt.Errorf("record version %d in a schema 1 library", o.V)
	}
	ref := func(what string, b []byte) (BlobRef, error) {
		var r BlobRef
		switch len(b) {
		case 0:
		case len(r):
			copy(r[:], b)
		default:
			return r, fmt.Errorf("%s reference of %d bytes", what, len(b))
		}
		return r, nil
	}
	g := &Generation{V: GenerationVersion, ID: o.ID, Time: o.Time.UTC(), Favourite: o.Favourite}
	var err error
	if g.Image, err = ref("image", o.Image); err != nil {
		return nil, err
	}
	if g.Thumbnail, err = ref("thumbnail", o.Thumbnail); err != nil {
		return nil, err
	}
	r := o.Recipe
	g.Recipe = Recipe{
		Model: r.Model, ModelName: r.ModelName, Prompt: r.Prompt, Negative: r.Negative,
		Seed: r.Seed, Steps: r.Steps, Sampler: r.Sampler, CFG: r.CFG, Width: r.Width, Height: r.Height,
		Strength: r.Strength,
	}
	if g.Recipe.InitImage, err = ref("init image", r.InitImage); err != nil {
		return nil, err
	}
	if c := r.Control; c != nil {
		g.Recipe.Control = &Control{Kind: c.Kind, Pose: c.Pose, Scale: c.Scale, Start: c.Start, End: c.End}
		if g.Recipe.Control.Image, err = ref("control image", c.Image); err != nil {
			return nil, err
		}
	}
	if r.SubjectID != "" {
		g.Recipe.Subjects = []SubjectUse{{SubjectID: r.SubjectID, V: r.SemanticScale, Eta1: r.Eta1, Eta2: r.Eta2}}
	}
	for _, t := range strings.Split(o.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			g.Tags = append(g.Tags, t)
		}
	}
	return g, nil
}
