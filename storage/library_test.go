package storage

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestSubjectRoundTripAndBlobCollection(t *testing.T) {
	l, _ := openTemp(t)
	var want *Subject
	if err := l.Update(func(tx *Tx) error {
		var err error
		if want, err = makeSubject(tx, 4, 3); err != nil {
			return err
		}
		return tx.PutSubject(want)
	}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Subject(want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("subject changed on the way:\n got %+v\nwant %+v", got, want)
	}
	h, err := l.Blob(got.Auxiliaries[2].H.Data)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := BytesToFloats(h); len(v) != 64 {
		t.Fatalf("h has %d floats", len(v))
	}
	rep := mustVerify(t, l)
	// 4 images (target + 3 aux) × (image, latent, h) + thumbnail + projector.
	if rep.Subjects != 1 || rep.Blobs != 14 {
		t.Fatalf("report %+v", rep)
	}
	if err := l.RenameSubject(want.ID, "Blue mug"); err != nil {
		t.Fatal(err)
	}
	renamed, _ := l.Subject(want.ID)
	if renamed.Name != "Blue mug" || !renamed.Created.Equal(want.Created) || renamed.Updated.Before(want.Updated) {
		t.Fatalf("rename: %+v", renamed)
	}
	if err := l.DeleteSubject(want.ID); err != nil {
		t.Fatal(err)
	}
	rep = mustVerify(t, l)
	if rep.Blobs != 0 || rep.Subjects != 0 {
		t.Fatalf("blobs left after delete: %+v", rep)
	}
	if _, err := l.Subject(want.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted subject: %v", err)
	}
}

func TestSharedBlobsStayWhileReferenced(t *testing.T) {
	l, _ := openTemp(t)
	img := []byte("same picture")
	a, b := &Generation{Recipe: Recipe{Prompt: "a"}}, &Generation{Recipe: Recipe{Prompt: "b"}}
	if err := l.AddGeneration(a, img, []byte("thumb")); err != nil {
		t.Fatal(err)
	}
	if err := l.AddGeneration(b, img, []byte("thumb")); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteGeneration(a.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Blob(RefOf(img)); err != nil || !bytes.Equal(got, img) {
		t.Fatalf("shared blob gone after deleting one user: %v", err)
	}
	mustVerify(t, l)
	if err := l.DeleteGeneration(b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Blob(RefOf(img)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("blob not collected: %v", err)
	}
	// A record pointing at a blob nobody stored is refused.
	bad := &Generation{Image: RefOf([]byte("never stored"))}
	if err := l.Update(func(tx *Tx) error { return tx.PutGeneration(bad) }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dangling reference accepted: %v", err)
	}
	// Blobs stored by a writer that never referenced them are dropped.
	if err := l.Update(func(tx *Tx) error { _, err := tx.PutBlob([]byte("stray")); return err }); err != nil {
		t.Fatal(err)
	}
	if rep := mustVerify(t, l); rep.Blobs != 0 {
		t.Fatalf("stray blob kept: %+v", rep)
	}
}

func TestListGenerationsPagingAndFilters(t *testing.T) {
	l, _ := openTemp(t)
	r := rand.New(rand.NewSource(1))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var all []*Generation
	for i := 0; i < 57; i++ {
		subject := ""
		if i%5 == 0 {
			subject = "S1"
		}
		g := makeGeneration(r, base.Add(time.Duration(i)*time.Minute), subject)
		if i == 13 {
			g.Recipe.Prompt = "A Red Fox in snow"
		}
		if err := l.AddGeneration(g, []byte{byte(i), 1}, []byte{byte(i), 2}); err != nil {
			t.Fatal(err)
		}
		all = append(all, g)
	}
	var seen []string
	q := GenerationQuery{Limit: 10}
	for pages := 0; ; pages++ {
		p, err := l.ListGenerations(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range p.Items {
			seen = append(seen, g.ID)
		}
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		q.Before = p.Next
	}
	if len(seen) != len(all) {
		t.Fatalf("paged %d of %d", len(seen), len(all))
	}
	for i, id := range seen {
		if id != all[len(all)-1-i].ID {
			t.Fatalf("item %d is %s, want newest-first %s", i, id, all[len(all)-1-i].ID)
		}
	}
	count := func(q GenerationQuery, keep func(*Generation) bool) {
		t.Helper()
		q.Limit = 1000
		p, err := l.ListGenerations(q)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, g := range all {
			if keep(g) {
				want++
			}
		}
		if len(p.Items) != want || want == 0 {
			t.Fatalf("query %+v: %d items, want %d (>0)", q, len(p.Items), want)
		}
		for _, g := range p.Items {
			if !keep(g) {
				t.Fatalf("query %+v returned %+v", q, g)
			}
		}
	}
	count(GenerationQuery{Favourites: true}, func(g *Generation) bool { return g.Favourite })
	count(GenerationQuery{SubjectID: "S1"}, func(g *Generation) bool { return len(g.Recipe.Subjects) > 0 })
	count(GenerationQuery{Text: "red fox"}, func(g *Generation) bool { return g.Recipe.Prompt == "A Red Fox in snow" })

	if err := l.SetFavourite(all[3].ID, !all[3].Favourite); err != nil {
		t.Fatal(err)
	}
	if err := l.SetTags(all[3].ID, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	g, _ := l.Generation(all[3].ID)
	if g.Favourite == all[3].Favourite || !reflect.DeepEqual(g.Tags, []string{"x"}) {
		t.Fatalf("favourite/tags not saved: %+v", g)
	}
	mustVerify(t, l)
}

func TestSettingsAndModels(t *testing.T) {
	l, dir := openTemp(t)
	type ui struct {
		Theme string
		Zoom  float64
	}
	var got ui
	if found, err := l.Setting("ui", &got); err != nil || found {
		t.Fatalf("unset setting: %v %v", found, err)
	}
	if err := l.SetSetting("ui", ui{"dark", 1.25}); err != nil {
		t.Fatal(err)
	}
	if err := l.PutModel(&ModelInfo{Fingerprint: "sha256:abc", Name: "ToyWorld"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if found, err := l.Setting("ui", &got); err != nil || !found || got != (ui{"dark", 1.25}) {
		t.Fatalf("setting after reopen: %+v %v %v", got, found, err)
	}
	ms, err := l.Models()
	if err != nil || len(ms) != 1 || ms[0].Name != "ToyWorld" {
		t.Fatalf("models %+v %v", ms, err)
	}
}

func TestJobsInterruptedAndAtomicResults(t *testing.T) {
	l, dir := openTemp(t)
	// A job whose results fail leaves nothing but a failed record.
	j, err := l.BeginJob("tune", "Tune blue mug", "")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("out of GPU memory")
	err = l.FinishJob(j.ID, JobDone, "", func(tx *Tx) error {
		s, err := makeSubject(tx, 1, 2)
		if err != nil {
			return err
		}
		if err := tx.PutSubject(s); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("FinishJob: %v", err)
	}
	if subs, _ := l.Subjects(); len(subs) != 0 {
		t.Fatalf("half-made subject visible: %d", len(subs))
	}
	jobs, _ := l.Jobs()
	if len(jobs) != 1 || jobs[0].State != JobFailed || jobs[0].Error != boom.Error() {
		t.Fatalf("jobs %+v", jobs[0])
	}
	// A running job of a process that went away shows as interrupted.
	if _, err := l.BeginJob("tune", "Tune fox", ""); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	in, err := l.InterruptedJobs()
	if err != nil || len(in) != 1 || in[0].Title != "Tune fox" || in[0].Finished.IsZero() {
		t.Fatalf("interrupted jobs %+v %v", in, err)
	}
	if err := l.DismissJob(in[0].ID); err != nil {
		t.Fatal(err)
	}
	if in, _ := l.InterruptedJobs(); len(in) != 0 {
		t.Fatalf("dismissed job still listed")
	}
	mustVerify(t, l)
}

func TestSecondOpenerGetsLockedErrorWithPID(t *testing.T) {
	l, dir := openTemp(t)
	_ = l
	start := time.Now()
	_, err := Open(dir, &Options{LockTimeout: 100 * time.Millisecond})
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second open: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("second open took %v", took)
	}
	if want := "the library is open in another OneActor window (pid "; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Fatalf("message %q", err)
	}
	if _, err := OpenReadOnly(dir, 100*time.Millisecond); !errors.As(err, &le) {
		t.Fatalf("read-only open beside a writer: %v", err)
	}
	if _, err := MoveAside(dir); !errors.As(err, &le) {
		t.Fatalf("moved aside a library in use: %v", err)
	}
}

func fileDigest(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := RefOf(b)
	return s[:]
}

func TestDamagedFilesAreRefusedUntouched(t *testing.T) {
	// A real library with some content, to truncate.
	src, srcDir := openTemp(t)
	for i := 0; i < 40; i++ {
		g := &Generation{Recipe: Recipe{Prompt: "p"}}
		if err := src.AddGeneration(g, bytes.Repeat([]byte{byte(i)}, 9000), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()
	good, _ := os.ReadFile(filepath.Join(srcDir, FileName))

	cases := map[string][]byte{
		"garbage":   randBytes(rand.New(rand.NewSource(3)), 70000),
		"tiny":      []byte("hello"),
		"truncated": good[:len(good)/2],
		"meta only": good[:8192],
		"text":      bytes.Repeat([]byte("not a database\n"), 1000),
	}
	foreign := filepath.Join(t.TempDir(), "other.db")
	if db, err := bolt.Open(foreign, 0o600, nil); err != nil {
		t.Fatal(err)
	} else {
		db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("etcd")); return err })
		db.Close()
	}
	cases["another program's bbolt file"], _ = os.ReadFile(foreign)
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileDigest(t, path)
			_, err := Open(dir, nil)
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open: %v", err)
			}
			if !bytes.Equal(before, fileDigest(t, path)) {
				t.Fatal("damaged file was modified")
			}
			if _, err := OpenReadOnly(dir, 0); !errors.As(err, &ce) {
				t.Fatalf("read-only open: %v", err)
			}
			moved, err := MoveAside(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(moved); !bytes.Equal(got, content) {
				t.Fatal("moved-aside file differs")
			}
			l, err := Open(dir, nil)
			if err != nil {
				t.Fatalf("fresh library after moving aside: %v", err)
			}
			l.Close()
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	l, dir := openTemp(t)
	if err := l.db.Update(func(btx *boltTx) error { return writeSchema(btx, SchemaVersion+1) }); err != nil {
		t.Fatal(err)
	}
	l.Close()
	before := fileDigest(t, filepath.Join(dir, FileName))
	_, err := Open(dir, nil)
	var ne *NewerSchemaError
	if !errors.As(err, &ne) || ne.Version != SchemaVersion+1 {
		t.Fatalf("open: %v", err)
	}
	if !bytes.Equal(before, fileDigest(t, filepath.Join(dir, FileName))) {
		t.Fatal("file modified")
	}
}

func TestBackupIsAConsistentLibrary(t *testing.T) {
	l, _ := openTemp(t)
	for i := 0; i < 5; i++ {
		if err := l.AddGeneration(&Generation{Recipe: Recipe{Prompt: "p"}}, []byte{byte(i)}, []byte{9, byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	dst := t.TempDir()
	if _, err := l.BackupFile(filepath.Join(dst, FileName)); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(dst, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rep := ro.Check()
	if !rep.OK() || rep.Generations != 5 || rep.Blobs != 10 {
		t.Fatalf("backup check: %+v", rep)
	}
}

type boltTx = bolt.Tx
