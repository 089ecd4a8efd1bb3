package storage

import (
	"fmt"
	"math/rand"
	"os"
	"testing"
	"time"
)

func openTemp(t testing.TB) (*Library, string) {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// makeSubject builds a subject deterministically from seed, storing its
// blobs through t, as a tuning job's final write would.
func makeSubject(t *Tx, seed int64, aux int) (*Subject, error) {
	r := rand.New(rand.NewSource(seed))
	img := func() (SubjectImage, error) {
		var im SubjectImage
		var err error
		if im.Image, err = t.PutBlob(randBytes(r, 200+r.Intn(300))); err != nil {
			return im, err
		}
		im.Seed = r.Int63()
		im.Latent.Shape = []int{4, 4, 4}
		if im.Latent.Data, err = t.PutBlob(FloatsToBytes(randFloats(r, 64))); err != nil {
			return im, err
		}
		im.H.Shape = []int{16, 2, 2}
		im.H.Data, err = t.PutBlob(FloatsToBytes(randFloats(r, 64)))
		return im, err
	}
	s := &Subject{
		Name: fmt.Sprintf("subject %d", seed), BaseWord: "mug", BasePrompt: "a photo of a mug",
		ModelFingerprint: "sha256:model-a",
		DeltaTar:         randFloats(r, 16), DeltaAver: randFloats(r, 16),
		Tuning:    TuningSettings{Steps: 200, LR: 1e-4, Beta1: 0.9, Beta2: 0.999, WeightDecay: 0.01, Lambda1: 0.5, Lambda2: 0.2, Seed: seed},
		LossCurve: randFloats(r, 10),
		Created:   time.Unix(1700000000+seed, 0).UTC(),
	}
	var err error
	if s.Target, err = img(); err != nil {
		return nil, err
	}
	for i := 0; i < aux; i++ {
		im, err := img()
		if err != nil {
			return nil, err
		}
		s.Auxiliaries = append(s.Auxiliaries, im)
	}
	if s.Thumbnail, err = t.PutBlob(randBytes(r, 100)); err != nil {
		return nil, err
	}
	if seed%2 == 0 {
		if s.Projector, err = t.PutBlob(FloatsToBytes(randFloats(r, 128))); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func makeGeneration(r *rand.Rand, at time.Time, subject string) *Generation {
	g := &Generation{
		Time: at,
		Recipe: Recipe{
			Model: "sha256:model-a", Prompt: fmt.Sprintf("the mug on a counter %d", r.Intn(1000)), Negative: "blurry",
			Seed: r.Int63(), Steps: 30, Sampler: "euler", CFG: 7.5, Width: 512, Height: 512,
		},
		Favourite: r.Intn(4) == 0,
		Tags:      []string{"a", "b"},
	}
	if subject != "" {
		g.Recipe.Subjects = []SubjectUse{{SubjectID: subject, V: 0.8, Eta1: 8.5, Eta2: 1}}
	}
	return g
}

func mustVerify(t testing.TB, l *Library) *Report {
	t.Helper()
	rep, err := l.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("library not healthy: %v", rep.Problems)
	}
	return rep
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
