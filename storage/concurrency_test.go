package storage

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Readers list pages, read thumbnails and verify snapshots while a job
// writes generations and a subject. Run with -race.
func TestReadersWhileAJobWrites(t *testing.T) {
	l, _ := openTemp(t)
	const gens = 150
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}

	wg.Add(1)
	go func() { // the job
		defer wg.Done()
		defer done.Store(true)
		j, err := l.BeginJob("generate", "batch", "")
		if err != nil {
			fail(err)
			return
		}
		r := rand.New(rand.NewSource(9))
		for i := 0; i < gens; i++ {
			g := makeGeneration(r, time.Time{}, "")
			if err := l.AddGeneration(g, randBytes(r, 2000), randBytes(r, 300)); err != nil {
				fail(err)
				return
			}
			if i%50 == 49 {
				if err := l.DeleteGeneration(g.ID); err != nil {
					fail(err)
					return
				}
			}
		}
		err = l.FinishJob(j.ID, JobDone, "", func(tx *Tx) error {
			s, err := makeSubject(tx, 2, 2)
			if err != nil {
				return err
			}
			return tx.PutSubject(s)
		})
		if err != nil {
			fail(err)
		}
	}()

	var reads atomic.Int64
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			last := 0
			for !done.Load() {
				var n int
				err := l.View(func(tx *Tx) error {
					p, err := tx.ListGenerations(GenerationQuery{Limit: 1000})
					if err != nil {
						return err
					}
					n = len(p.Items)
					for i, g := range p.Items {
						if i > 0 && g.ID >= p.Items[i-1].ID {
							return fmt.Errorf("page not newest-first at %d", i)
						}
						if _, err := tx.Blob(g.Thumbnail); err != nil {
							return fmt.Errorf("thumbnail of listed generation: %w", err)
						}
					}
					subs, err := tx.Subjects()
					if err != nil {
						return err
					}
					for _, s := range subs { // a subject is whole or absent
						for _, ref := range s.refs() {
							if !tx.HasBlob(ref) {
								return fmt.Errorf("subject %s visible without blob %s", s.ID, ref)
							}
						}
					}
					return nil
				})
				if err != nil {
					fail(fmt.Errorf("reader %d: %w", w, err))
					return
				}
				// Deletions happen, but only 1 in 50 writes.
				if n < last-1 {
					fail(fmt.Errorf("reader %d: saw %d generations after %d", w, n, last))
					return
				}
				last = n
				reads.Add(1)
				if w == 0 {
					if rep, err := l.Verify(); err != nil || !rep.OK() {
						fail(fmt.Errorf("snapshot check during writes: %v %v", err, rep.Problems))
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep := mustVerify(t, l)
	if rep.Generations != gens-gens/50 || rep.Subjects != 1 {
		t.Fatalf("final %+v", rep)
	}
	if reads.Load() == 0 {
		t.Fatal("readers never ran")
	}
	t.Logf("%d reader snapshots during %d writes", reads.Load(), gens)
}
