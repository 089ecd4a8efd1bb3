package storage

import (
	"fmt"
	"math/rand"
	"os"
	"sync"
	"testing"
	"time"
)

// Load benchmarks on a library of 10,000 generations, each with its own
// 12 KiB thumbnail and 4 KiB image blob (incompressible bytes, like PNG).
//
//	go test ./storage -run '^$' -bench 10k -benchtime 50x
const (
	loadGenerations = 10000
	loadThumbBytes  = 12 << 10
	loadImageBytes  = 4 << 10
)

var loadLib struct {
	once sync.Once
	dir  string
	err  error
	took time.Duration
}

// loadDir builds the library once per test process (about a few seconds:
// NoSync, 500 generations a transaction).
func loadDir(b *testing.B) string {
	loadLib.once.Do(func() {
		start := time.Now()
		loadLib.dir, loadLib.err = os.MkdirTemp("", "oneactor-load-")
		if loadLib.err != nil {
			return
		}
		l, err := Open(loadLib.dir, &Options{NoSync: true})
		if err != nil {
			loadLib.err = err
			return
		}
		defer l.Close()
		r := rand.New(rand.NewSource(1))
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < loadGenerations; {
			loadLib.err = l.Update(func(tx *Tx) error {
				for n := 0; n < 500 && i < loadGenerations; n, i = n+1, i+1 {
					g := makeGeneration(r, base.Add(time.Duration(i)*time.Second), fmt.Sprintf("S%d", i%7))
					var err error
					if g.Image, err = tx.PutBlob(randBytes(r, loadImageBytes)); err != nil {
						return err
					}
					if g.Thumbnail, err = tx.PutBlob(randBytes(r, loadThumbBytes)); err != nil {
						return err
					}
					if err := tx.PutGeneration(g); err != nil {
						return err
					}
				}
				return nil
			})
			if loadLib.err != nil {
				return
			}
		}
		loadLib.took = time.Since(start)
	})
	if loadLib.err != nil {
		b.Fatal(loadLib.err)
	}
	return loadLib.dir
}

func reportFileSize(b *testing.B, dir string) {
	st, err := os.Stat(dir + "/" + FileName)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
}

// The gallery's first screen: the newest 100 generations and their
// thumbnails, from one snapshot.
func BenchmarkNewestPage10k(b *testing.B) {
	dir := loadDir(b)
	l, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := l.View(func(tx *Tx) error {
			p, err := tx.ListGenerations(GenerationQuery{Limit: 100})
			if err != nil {
				return err
			}
			if len(p.Items) != 100 || p.Next == "" {
				return fmt.Errorf("page of %d", len(p.Items))
			}
			for _, g := range p.Items {
				th, err := tx.Blob(g.Thumbnail)
				if err != nil || len(th) != loadThumbBytes {
					return fmt.Errorf("thumbnail: %v", err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportFileSize(b, dir)
}

// A filtered page: prompt text that matches about 1 in 10, so the walk
// decodes about 1,000 records.
func BenchmarkFilteredPage10k(b *testing.B) {
	dir := loadDir(b)
	l, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := l.ListGenerations(GenerationQuery{Limit: 100, Text: "counter 7", SubjectID: "S3"})
		if err != nil || len(p.Items) == 0 {
			b.Fatalf("%d items, %v", len(p.Items), err)
		}
	}
}

// Opening the library: preflight, lock, schema check, interrupted jobs.
func BenchmarkOpen10k(b *testing.B) {
	dir := loadDir(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
	b.StopTimer()
	reportFileSize(b, dir)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if loadLib.dir != "" {
		os.RemoveAll(loadLib.dir)
	}
	os.Exit(code)
}
