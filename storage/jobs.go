package storage

import (
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// JobState is where a long job stands.
type JobState string

const (
	JobRunning     JobState = "running"
	JobDone        JobState = "done"
	JobFailed      JobState = "failed"
	JobCancelled   JobState = "cancelled"
	JobInterrupted JobState = "interrupted" // the app stopped (crash, kill, power) while it ran
)

// Job records a long job (tuning, batch generation) so that a crash leaves
// a visible trace. Its results are written in the same transaction that
// finalises it (FinishJob), so a subject exists only if its job finished.
type Job struct {
	V         int       `cbor:"0,keyasint"`
	ID        string    `cbor:"1,keyasint"`
	Kind      string    `cbor:"2,keyasint"` // "tune", "generate", …
	Title     string    `cbor:"3,keyasint"`
	SubjectID string    `cbor:"4,keyasint,omitempty"`
	State     JobState  `cbor:"5,keyasint"`
	Started   time.Time `cbor:"6,keyasint"`
	Finished  time.Time `cbor:"7,keyasint,omitempty"`
	Error     string    `cbor:"8,keyasint,omitempty"`
}

func (t *Tx) putJob(j *Job) error {
	jobs, err := t.bucket(bucketJobs)
	if err != nil {
		return err
	}
	j.V = JobVersion
	buf, err := marshal(j)
	if err != nil {
		return err
	}
	return jobs.Put([]byte(j.ID), buf)
}

// Job reads one job record.
func (t *Tx) Job(id string) (*Job, error) {
	jobs, err := t.bucket(bucketJobs)
	if err != nil {
		return nil, err
	}
	v := jobs.Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return decodeJob(id, v)
}

func decodeJob(id string, v []byte) (*Job, error) {
	var j Job
	if err := unmarshal(v, &j); err != nil {
		return nil, fmt.Errorf("job %s: %w", id, err)
	}
	if j.V < 1 || j.V > JobVersion {
		return nil, fmt.Errorf("job %s has record version %d", id, j.V)
	}
	return &j, nil
}

// BeginJob records a job as running before its work starts.
func (l *Library) BeginJob(kind, title, subjectID string) (*Job, error) {
	j := &Job{Kind: kind, Title: title, SubjectID: subjectID, State: JobRunning, Started: now()}
	j.ID = newID(j.Started)
	if err := l.Update(func(t *Tx) error { return t.putJob(j) }); err != nil {
		return nil, fmt.Errorf("record job %q: %w", title, err)
	}
	return j, nil
}

// FinishJob finalises a running job with state (done, failed or cancelled)
// and, when results is not nil, writes the job's results in the same
// transaction. If results fails nothing of it is kept and the job is
// recorded as failed with that error, which FinishJob also returns.
func (l *Library) FinishJob(id string, state JobState, errMsg string, results func(*Tx) error) error {
	if state == JobRunning || state == JobInterrupted {
		return fmt.Errorf("finish job %s: %q is not a final state", id, state)
	}
	finish := func(t *Tx, state JobState, msg string) error {
		j, err := t.Job(id)
		if err != nil {
			return err
		}
		if j.State != JobRunning {
			return fmt.Errorf("job %s is already %s", id, j.State)
		}
		j.State, j.Error, j.Finished = state, msg, now()
		return t.putJob(j)
	}
	err := l.Update(func(t *Tx) error {
		if results != nil {
			if err := results(t); err != nil {
				return &resultsError{err}
			}
		}
		return finish(t, state, errMsg)
	})
	var re *resultsError
	if errors.As(err, &re) {
		if ferr := l.Update(func(t *Tx) error { return finish(t, JobFailed, re.err.Error()) }); ferr != nil {
			return fmt.Errorf("job %s: %w (and recording the failure: %v)", id, re.err, ferr)
		}
		return fmt.Errorf("job %s: %w", id, re.err)
	}
	return err
}

type resultsError struct{ err error }

func (e *resultsError) Error() string { return e.err.Error() }

// Jobs lists job records, newest first.
func (t *Tx) Jobs() ([]*Job, error) {
	jobs, err := t.bucket(bucketJobs)
	if err != nil {
		return nil, err
	}
	var out []*Job
	err = jobs.ForEach(func(k, v []byte) error {
		j, err := decodeJob(string(k), v)
		if err == nil {
			out = append(out, j)
		}
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, err
}

// Jobs lists job records, newest first.
func (l *Library) Jobs() (out []*Job, err error) {
	err = l.View(func(t *Tx) error { out, err = t.Jobs(); return err })
	return out, err
}

// InterruptedJobs lists the jobs a crash or kill cut short, for the app to
// show once (then DismissJob).
func (l *Library) InterruptedJobs() ([]*Job, error) {
	all, err := l.Jobs()
	var out []*Job
	for _, j := range all {
		if j.State == JobInterrupted {
			out = append(out, j)
		}
	}
	return out, err
}

// DismissJob deletes a job record that is not running.
func (l *Library) DismissJob(id string) error {
	return l.Update(func(t *Tx) error {
		j, err := t.Job(id)
		if err != nil {
			return err
		}
		if j.State == JobRunning {
			return fmt.Errorf("job %s is still running", id)
		}
		jobs, _ := t.bucket(bucketJobs)
		return jobs.Delete([]byte(id))
	})
}

// markInterrupted runs at Open: this process holds the only write lock, so
// a job still "running" belongs to a process that died.
func (l *Library) markInterrupted() error {
	var stale []*Job
	if err := l.View(func(t *Tx) error {
		all, err := t.Jobs()
		for _, j := range all {
			if j.State == JobRunning {
				stale = append(stale, j)
			}
		}
		return err
	}); err != nil || len(stale) == 0 {
		return err
	}
	return l.db.Update(func(btx *bolt.Tx) error {
		t := &Tx{tx: btx}
		for _, j := range stale {
			j.State, j.Finished, j.Error = JobInterrupted, now(), "the app stopped while this job ran"
			if err := t.putJob(j); err != nil {
				return err
			}
		}
		return nil
	})
}
