package service

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/oneactor"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/storage"
)

func TestMakeSubjectStoresItWithItsJob(t *testing.T) {
	model := t.TempDir()
	difftest.WriteFolder(t, model, filepath.Join("..", ".."), difftest.Optimum)
	data := t.TempDir()
	svc := New(Config{DataDir: data, Provider: ort.ProviderCPU})
	defer svc.Close()
	lib, err := storage.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	cfg := oneactor.DefaultTune()
	cfg.Steps = 3
	cfg.Templates = []string{"a {} on the beach", "a red {}"}
	var phases = map[string]int{}
	subj, err := svc.MakeSubject(context.Background(), lib, SubjectRequest{Model: model, Name: "Rex", BasePrompt: "a creature",
		BaseWord: "creature", Seed: 5, Aux: 3, Target: 2, Tune: cfg}, func(ev SubjectEvent) { phases[ev.Phase]++ })
	if err != nil {
		t.Fatal(err)
	}
	if phases["cast"] == 0 || phases["tune"] != 3 {
		t.Fatalf("progress events %v", phases)
	}
	got, err := lib.Subject(subj.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Rex" || len(got.Auxiliaries) != 3 || got.Target.Seed != 7 || len(got.DeltaTar) != difftest.Width ||
		len(got.LossCurve) != 3 || got.Projector == (storage.BlobRef{}) {
		t.Fatalf("stored subject %+v", got)
	}
	if _, err := lib.Blob(got.Target.H.Data); err != nil {
		t.Fatalf("h blob: %v", err)
	}
	e, _ := svc.Engine(model)
	fp, _ := e.Model.Fingerprint()
	if _, err := SubjectOffsets([]*storage.Subject{got}, fp); err != nil {
		t.Fatal(err)
	}
	if _, err := SubjectOffsets([]*storage.Subject{got}, "other-model"); err == nil {
		t.Fatal("subject of another model accepted")
	}

	// Cancelled while tuning: no subject, a cancelled job.
	ctx, cancel := context.WithCancel(context.Background())
	_, err = svc.MakeSubject(ctx, lib, SubjectRequest{Model: model, Name: "Gone", BasePrompt: "a creature", BaseWord: "creature",
		Seed: 9, Aux: 3, Tune: cfg}, func(ev SubjectEvent) {
		if ev.Phase == "tune" && ev.Step == 1 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want cancellation, got %v", err)
	}
	subs, _ := lib.Subjects()
	if len(subs) != 1 {
		t.Fatalf("%d subjects after a cancelled tune, want 1", len(subs))
	}
	jobs, _ := lib.Jobs()
	states := map[storage.JobState]int{}
	for _, j := range jobs {
		states[j.State]++
	}
	if states[storage.JobDone] != 1 || states[storage.JobCancelled] != 1 {
		t.Fatalf("job states %v", states)
	}
	// A base word that is not one token is refused before any work.
	if _, err := svc.MakeSubject(context.Background(), lib, SubjectRequest{Model: model, Name: "X", BasePrompt: "a creatureling",
		BaseWord: "creatureling", Tune: cfg}, nil); err == nil {
		t.Fatal("multi-token base word accepted")
	}
}
