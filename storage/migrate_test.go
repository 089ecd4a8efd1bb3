package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/storage/internal/schemav1"
)

// copyFixture puts a committed fixture into a fresh data folder (the
// migration writes, and testdata must stay as committed).
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture %s (regenerate: go run ./storage/internal/fixturegen): %v", name, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMigrateFromSchemaV1Fixture(t *testing.T) {
	dir := copyFixture(t, "schema-v1.db")
	ro, err := OpenReadOnly(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep := ro.Check(); !rep.OK() {
		t.Fatalf("fixture itself is damaged: %v", rep.Problems)
	}
	ro.Close()

	l, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rep := mustVerify(t, l) // schema 2 now, counts consistent
	want := schemav1.Sample()
	if rep.Subjects != len(want.Subjects) || rep.Generations != len(want.Generations) {
		t.Fatalf("after migration: %+v", rep)
	}

	for _, old := range want.Generations {
		g, err := l.Generation(old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g.V != GenerationVersion || !g.Time.Equal(old.Time) || g.Recipe.Prompt != old.Recipe.Prompt || g.Recipe.Seed != old.Recipe.Seed || g.Favourite != old.Favourite {
			t.Fatalf("generation %s: %+v", old.ID, g)
		}
		if old.Recipe.SubjectID == "" {
			if len(g.Recipe.Subjects) != 0 {
				t.Fatalf("generation %s gained subjects %+v", old.ID, g.Recipe.Subjects)
			}
		} else {
			wantUse := []SubjectUse{{SubjectID: old.Recipe.SubjectID, V: old.Recipe.SemanticScale, Eta1: old.Recipe.Eta1, Eta2: old.Recipe.Eta2}}
			if !reflect.DeepEqual(g.Recipe.Subjects, wantUse) {
				t.Fatalf("generation %s subjects %+v, want %+v", old.ID, g.Recipe.Subjects, wantUse)
			}
		}
		if strings.Join(g.Tags, "|") != strings.Join(strings.FieldsFunc(strings.ReplaceAll(old.Tags, " ", ""), func(r rune) bool { return r == ',' }), "|") {
			t.Fatalf("generation %s tags %q from %q", old.ID, g.Tags, old.Tags)
		}
		img, err := l.Blob(g.Image)
		if err != nil || !bytes.Equal(g.Image[:], schemav1.Ref(img)) || !bytes.Equal(g.Image[:], old.Image) {
			t.Fatalf("generation %s image: %v", old.ID, err)
		}
		if (old.Recipe.Control != nil) != (g.Recipe.Control != nil) || (g.Recipe.Control != nil && !bytes.Equal(g.Recipe.Control.Image[:], old.Recipe.Control.Image)) {
			t.Fatalf("generation %s control %+v", old.ID, g.Recipe.Control)
		}
	}
	for _, old := range want.Subjects {
		s, err := l.Subject(old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != old.Name || s.BaseWord != old.BaseWord || !bytes.Equal(FloatsToBytes(s.DeltaTar), old.DeltaTar) ||
			!bytes.Equal(FloatsToBytes(s.LossCurve), old.LossCurve) || len(s.Auxiliaries) != len(old.Auxiliaries) ||
			s.Tuning.Steps != old.Tuning.Steps || !s.Created.Equal(old.Created) {
			t.Fatalf("subject %s: %+v", old.ID, s)
		}
		h, err := l.Blob(s.Target.H.Data)
		if err != nil || !bytes.Equal(s.Target.H.Data[:], old.Target.H.Data) || len(h) != 4*32 {
			t.Fatalf("subject %s h: %v", old.ID, err)
		}
	}
	var theme string
	if ok, err := l.Setting("theme", &theme); !ok || err != nil || theme != "dark" {
		t.Fatalf("setting: %q %v %v", theme, ok, err)
	}
	// The new buckets of schema 2 work.
	if _, err := l.BeginJob("tune", "after migration", ""); err != nil {
		t.Fatal(err)
	}
	if err := l.PutModel(&ModelInfo{Fingerprint: "sha256:toyworld-v1", Name: "ToyWorld"}); err != nil {
		t.Fatal(err)
	}
	// Deleting a migrated generation releases its blobs like a new one.
	if err := l.DeleteGeneration(want.Generations[0].ID); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, l)
}

// Every schema before the current one has a fixture.
func TestEveryOlderSchemaHasAFixture(t *testing.T) {
	for v := 1; v < SchemaVersion; v++ {
		if _, ok := migrations[v]; !ok {
			t.Errorf("no migration from schema %d", v)
		}
		if _, err := os.Stat(filepath.Join("testdata", fmt.Sprintf("schema-v%d.db", v))); err != nil {
			t.Errorf("schema %d: %v", v, err)
		}
	}
}
