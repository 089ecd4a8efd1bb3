package storage

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The crash test: a child process (this test binary, re-executed) writes
// subjects (through jobs), generations, favourites and deletions in a loop
// and reports each commit on stdout after it returns; the parent kills it
// with SIGKILL at a random moment, then opens the library and checks it.
// Repeated on the same file, so damage would accumulate.

const (
	crashDirEnv = "ONEACTOR_CRASH_DIR"
	crashRunEnv = "ONEACTOR_CRASH_RUN"
)

func rawDigest(t *Tx, bucket []byte, id string) string {
	b := t.tx.Bucket(bucket)
	if b == nil {
		return ""
	}
	v := b.Get([]byte(id))
	if v == nil {
		return ""
	}
	s := sha256.Sum256(v)
	return hex.EncodeToString(s[:8])
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestCrashUnderSIGKILL")
	}
	run, _ := strconv.Atoi(os.Getenv(crashRunEnv))
	out := os.Stdout // unbuffered: a line written is in the pipe before the next commit starts
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	l, err := Open(dir, &Options{LockTimeout: 5 * time.Second})
	if err != nil {
		say("error %v", err)
		os.Exit(3)
	}
	say("ready")
	r := rand.New(rand.NewSource(int64(run)))
	pool := make([][]byte, 8) // shared images: blobs with several users
	for i := range pool {
		pool[i] = []byte(fmt.Sprintf("shared image %d %s", i, strings.Repeat("x", 3000)))
	}
	var gens, subs []string
	digest := func(bucket []byte, id string) string {
		var d string
		l.View(func(t *Tx) error { d = rawDigest(t, bucket, id); return nil })
		return d
	}
	for i := 0; ; i++ {
		seed := int64(run)*100000 + int64(i)
		switch op := r.Intn(12); {
		case op < 2: // tune a subject: job first, subject written with the job's end
			j, err := l.BeginJob("tune", fmt.Sprintf("tune %d", seed), "")
			if err != nil {
				say("error %v", err)
				os.Exit(3)
			}
			var s *Subject
			err = l.FinishJob(j.ID, JobDone, "", func(t *Tx) error {
				var err error
				if s, err = makeSubject(t, seed, 1+r.Intn(3)); err != nil {
					return err
				}
				return t.PutSubject(s)
			})
			if err != nil {
				say("error %v", err)
				os.Exit(3)
			}
			subs = append(subs, s.ID)
			say("S %s %s %d", s.ID, digest(bucketSubjects, s.ID), seed)
		case op < 7:
			g := makeGeneration(r, time.Time{}, "")
			thumb := randBytes(r, 500+r.Intn(1500))
			if err := l.AddGeneration(g, pool[r.Intn(len(pool))], thumb); err != nil {
				say("error %v", err)
				os.Exit(3)
			}
			gens = append(gens, g.ID)
			say("G %s %s", g.ID, digest(bucketGenerations, g.ID))
		case op < 8 && len(gens) > 0:
			id := gens[r.Intn(len(gens))]
			say("u %s", id) // intent: the record may or may not change
			if err := l.SetFavourite(id, r.Intn(2) == 0); err != nil {
				say("error %v", err)
				os.Exit(3)
			}
			say("G %s %s", id, digest(bucketGenerations, id))
		case op < 9 && len(gens) > 0:
			k := r.Intn(len(gens))
			id := gens[k]
			gens = append(gens[:k], gens[k+1:]...)
			say("d %s", id)
			if err := l.DeleteGeneration(id); err != nil {
				say("error %v", err)
				os.Exit(3)
			}
			say("D %s", id)
		case op == 9 && len(subs) > 0: // carry a subject through a bundle
			var buf bytes.Buffer
			if err := l.ExportSubject(subs[r.Intn(len(subs))], &buf); err != nil {
				say("error %v", err)
				os.Exit(3)
			}
			s, err := l.ImportSubject(bytes.NewReader(buf.Bytes()), int64(buf.Len()), ImportOptions{ModelFingerprint: "sha256:model-a"})
			if err != nil {
				say("error %v", err)
				os.Exit(3)
			}
			subs = append(subs, s.ID)
			say("S %s %s %s", s.ID, digest(bucketSubjects, s.ID), strings.TrimPrefix(s.Name, "subject "))
		case op >= 10 && len(subs) > 2:
			k := r.Intn(len(subs))
			id := subs[k]
			subs = append(subs[:k], subs[k+1:]...)
			say("ds %s", id)
			if err := l.DeleteSubject(id); err != nil {
				say("error %v", err)
				os.Exit(3)
			}
			say("DS %s", id)
		}
	}
}

type crashExpect struct {
	gens, subs map[string]string // id → digest of the committed record
	pending    map[string]bool   // ids with an operation in flight at the kill
	tuned      map[string]bool   // "tune <seed>" titles whose subject committed
}

func TestCrashUnderSIGKILL(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("child")
	}
	kills := 200
	if raceBuild {
		kills = 60
	}
	if testing.Short() {
		kills = 20
	}
	dir := t.TempDir()
	exp := &crashExpect{gens: map[string]string{}, subs: map[string]string{}, tuned: map[string]bool{}}
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	start := time.Now()
	var commits, interrupted, beforeReady int
	for run := 1; run <= kills; run++ {
		exp.pending = map[string]bool{}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// One run in ten is killed while it opens the library; the others
		// a random 0–60 ms into their writes.
		if run%10 != 0 {
			select {
			case l, ok := <-lines:
				if !ok || l != "ready" {
					t.Fatalf("run %d: child said %q", run, l)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("run %d: child never opened the library", run)
			}
			time.Sleep(time.Duration(r.Intn(60)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(r.Intn(15)) * time.Millisecond)
			beforeReady++
		}
		cmd.Process.Kill() // SIGKILL on Unix
		cmd.Wait()
		for l := range lines {
			commits += exp.apply(t, run, l)
		}
		interrupted += checkAfterCrash(t, dir, exp, run)
	}
	took := time.Since(start)
	t.Logf("%d SIGKILLs (%d during open), %d acknowledged commits, %d interrupted tune jobs, %d generations and %d subjects alive, %v total (%.0f ms a kill)",
		kills, beforeReady, commits, interrupted, len(exp.gens), len(exp.subs), took.Round(time.Millisecond), float64(took.Milliseconds())/float64(kills))
}

func (e *crashExpect) apply(t *testing.T, run int, line string) int {
	f := strings.Fields(line)
	if len(f) == 0 {
		return 0
	}
	switch f[0] {
	case "ready":
	case "error":
		t.Fatalf("run %d: child failed: %s", run, line)
	case "S":
		e.subs[f[1]] = f[2]
		e.tuned["tune "+f[3]] = true
		return 1
	case "G":
		e.gens[f[1]] = f[2]
		delete(e.pending, f[1])
		return 1
	case "u", "d", "ds":
		e.pending[f[1]] = true
	case "D":
		delete(e.gens, f[1])
		delete(e.pending, f[1])
		return 1
	case "DS":
		delete(e.subs, f[1])
		delete(e.pending, f[1])
		return 1
	default:
		// A line cut by the kill ("G 0123" without digest) cannot be a
		// finished report; anything else is a bug in the test.
		if !strings.HasPrefix(line, "PASS") && !strings.HasPrefix(line, "ok") {
			t.Fatalf("run %d: unexpected child output %q", run, line)
		}
	}
	return 0
}

// checkAfterCrash opens the library as the app would after a crash and
// checks: bbolt consistency, reference counts with no orphan blob, every
// acknowledged record identical, nothing unacknowledged except the one
// operation in flight, and no subject from an interrupted job.
func checkAfterCrash(t *testing.T, dir string, e *crashExpect, run int) (interrupted int) {
	l, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("run %d: open after kill: %v", run, err)
	}
	defer l.Close()
	rep := mustVerify(t, l)
	if st, err := l.CollectGarbage(); err != nil || st.Removed != 0 || st.Recounted != 0 {
		t.Fatalf("run %d: collection found work after a crash: %+v %v", run, st, err)
	}
	unknown := 0
	l.View(func(tx *Tx) error {
		for id, d := range e.gens {
			got := rawDigest(tx, bucketGenerations, id)
			if got != d && !e.pending[id] {
				t.Fatalf("run %d: generation %s digest %q, committed %q", run, id, got, d)
			}
			if got != "" {
				e.gens[id] = got // an in-flight favourite change may have landed
			} else {
				delete(e.gens, id) // an in-flight delete landed
			}
		}
		for id, d := range e.subs {
			got := rawDigest(tx, bucketSubjects, id)
			if got != d && !(e.pending[id] && got == "") {
				t.Fatalf("run %d: subject %s digest %q, committed %q", run, id, got, d)
			}
			if got == "" {
				delete(e.subs, id)
			}
		}
		// Records nobody acknowledged: at most the one commit that returned
		// just before the kill, before its line was written.
		c := tx.tx.Bucket(bucketGenerations).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if _, ok := e.gens[string(k)]; !ok {
				unknown++
				e.gens[string(k)] = rawDigest(tx, bucketGenerations, string(k))
			}
		}
		subs, err := tx.Subjects()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if _, ok := e.subs[s.ID]; !ok {
				unknown++
				e.subs[s.ID] = rawDigest(tx, bucketSubjects, s.ID)
				e.tuned["tune "+strings.TrimPrefix(s.Name, "subject ")] = true
			}
		}
		return nil
	})
	if unknown > 1 {
		t.Fatalf("run %d: %d unacknowledged records (at most the one in flight may exist)", run, unknown)
	}
	jobs, err := l.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		switch j.State {
		case JobRunning:
			t.Fatalf("run %d: job %q still running after reopen", run, j.Title)
		case JobInterrupted:
			if e.tuned[j.Title] {
				t.Fatalf("run %d: interrupted job %q has a subject", run, j.Title)
			}
			interrupted++
			l.DismissJob(j.ID)
		case JobDone:
			if !e.tuned[j.Title] {
				t.Fatalf("run %d: finished job %q without its subject", run, j.Title)
			}
		}
	}
	if rep.Generations != len(e.gens) || rep.Subjects != len(e.subs) {
		t.Fatalf("run %d: library has %d generations, %d subjects; expected %d, %d", run, rep.Generations, rep.Subjects, len(e.gens), len(e.subs))
	}
	return interrupted
}
