package schemav1

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Sample is the content of the committed fixture testdata/schema-v1.db:
// blobs by content, then records that refer to them. It is deterministic so
// the migration test can compare what it reads with what was written.
type SampleData struct {
	Blobs       [][]byte
	Subjects    []Subject
	Generations []Generation
	Settings    map[string][]byte // raw CBOR values
}

// Ref is the content address of a blob in schema 1 (sha256).
func Ref(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// Floats packs float32 little-endian, as schema 1 did.
func Floats(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func ramp(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32(i-n/2)
	}
	return v
}

// Sample builds the fixture content.
func Sample() SampleData {
	var d SampleData
	blob := func(b []byte) []byte { d.Blobs = append(d.Blobs, b); return Ref(b) }
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	img := func(tag string, seed int64) SubjectImage {
		return SubjectImage{
			Image:  blob([]byte("PNG image " + tag)),
			Seed:   seed,
			Latent: Tensor{Shape: []int{4, 2, 2}, Data: blob(Floats(ramp(16, 0.5+float32(seed))))},
			H:      Tensor{Shape: []int{8, 2, 2}, Data: blob(Floats(ramp(32, 0.25*float32(seed+1))))},
		}
	}
	mug := Subject{
		V: 1, ID: "0000000000000001aaaaaaaa", Name: "Blue mug", BaseWord: "mug",
		BasePrompt: "a photo of a ceramic mug", ModelFingerprint: "sha256:toyworld-v1",
		Target:      img("mug target", 7),
		Auxiliaries: []SubjectImage{img("mug aux 1", 8), img("mug aux 2", 9)},
		Projector:   blob(Floats(ramp(24, 0.01))),
		DeltaTar:    Floats(ramp(8, 0.125)), DeltaAver: Floats(ramp(8, -0.0625)),
		Tuning:    Tuning{Steps: 200, LR: 1e-4, Lambda1: 0.5, Lambda2: 0.2, Seed: 42},
		LossCurve: Floats([]float32{0.9, 0.5, 0.25, 0.125}),
		Thumbnail: blob([]byte("PNG thumb mug")),
		Created:   base, Updated: base.Add(time.Minute),
	}
	fox := mug
	fox.ID, fox.Name, fox.BaseWord, fox.BasePrompt = "0000000000000002bbbbbbbb", "Fox mascot", "fox", "a rendering of a fox"
	fox.Target, fox.Auxiliaries, fox.Projector = img("fox target", 11), nil, nil
	fox.Thumbnail = blob([]byte("PNG thumb fox"))
	d.Subjects = []Subject{mug, fox}

	for i := 0; i < 6; i++ {
		t := base.Add(time.Duration(i) * time.Hour)
		g := Generation{
			V: 1, ID: fmt.Sprintf("%016x%08x", t.UnixNano(), i), Time: t,
			Recipe: Recipe{
				Model: "sha256:toyworld-v1", ModelName: "ToyWorld", Prompt: fmt.Sprintf("the mug on a marble counter, take %d", i),
				Negative: "blurry", Seed: int64(1000 + i), Steps: 30, Sampler: "euler", CFG: 7.5, Width: 64, Height: 64,
			},
			Image:     blob([]byte(fmt.Sprintf("PNG generation %d", i))),
			Thumbnail: blob([]byte(fmt.Sprintf("PNG generation thumb %d", i))),
			Favourite: i%3 == 0,
		}
		switch i % 3 {
		case 0:
			g.Recipe.SubjectID, g.Recipe.SemanticScale, g.Recipe.Eta1, g.Recipe.Eta2 = mug.ID, 0.8, 8.5, 1.0
			g.Tags = "kitchen, morning"
		case 1:
			g.Recipe.SubjectID, g.Recipe.SemanticScale, g.Recipe.Eta1, g.Recipe.Eta2 = fox.ID, 0.6, 7.5, 0
			g.Tags = ""
		case 2:
			g.Recipe.InitImage, g.Recipe.Strength = blob([]byte("PNG init")), 0.6
			g.Recipe.Control = &Control{Kind: "pose", Image: blob([]byte("PNG pose")), Pose: []byte(`{"people":[]}`), Scale: 1, Start: 0, End: 0.8}
			g.Tags = " outdoor ,,sketch "
		}
		d.Generations = append(d.Generations, g)
	}
	d.Settings = map[string][]byte{"theme": {0x64, 'd', 'a', 'r', 'k'}} // CBOR text "dark"
	return d
}
