package service

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strconv"
	"sync"
	"time"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/storage"
)

// JobState is where a queued job stands.
type JobState string

const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobDone      JobState = "done"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
)

// Job is a snapshot of one generation job.
type Job struct {
	ID     string
	Title  string
	Recipe Recipe // the seed is the resolved one once the job runs
	State  JobState

	Step, Total int
	Elapsed     time.Duration
	ETA         time.Duration
	Err         error  // set when failed
	Items       []Item // the saved pictures, when done

	// Subject is set on subject work (casting, tuning, previews; see
	// studio_subjects.go); such jobs save no pictures.
	Subject *SubjectWork
	run     func(ctx context.Context, q *queue, j *Job) // subject work; nil: generation
}

// Finished reports whether the job will change no more.
func (j Job) Finished() bool {
	return j.State == JobDone || j.State == JobFailed || j.State == JobCancelled
}

// JobEvent is one change of a job: queued, started, a step (with preview
// pictures on preview steps), or its end.
type JobEvent struct {
	Job     Job
	Preview []*image.RGBA
}

// PreviewEvery is how often (in steps) a running job sends preview pictures.
const PreviewEvery = 2

// queue runs generation jobs one at a time, in order, on its own goroutine.
type queue struct {
	st *Studio

	mu      sync.Mutex
	cond    *sync.Cond
	pending []*Job
	running *Job
	cancel  context.CancelFunc
	next    int
	subs    map[int]func(JobEvent)
	subN    int
	closed  bool
	done    chan struct{}
}

func newQueue(st *Studio) *queue {
	q := &queue{st: st, subs: map[int]func(JobEvent){}, done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go q.work()
	return q
}

// Subscribe calls fn with every job event, on the worker goroutine (a GUI
// must hand it to its UI goroutine). The returned func unsubscribes.
func (st *Studio) Subscribe(fn func(JobEvent)) (unsubscribe func()) {
	q := st.jobs
	q.mu.Lock()
	defer q.mu.Unlock()
	q.subN++
	id := q.subN
	q.subs[id] = fn
	return func() {
		q.mu.Lock()
		delete(q.subs, id)
		q.mu.Unlock()
	}
}

// Submit checks r against its model and queues it. It returns the job id.
func (st *Studio) Submit(r Recipe) (string, error) {
	if r.ModelRef == "" {
		return "", errors.New("choose a model")
	}
	m, err := st.Model(r.ModelRef)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", r.ModelRef, err)
	}
	if err := r.Validate(m); err != nil {
		return "", err
	}
	if err := st.prepareSubjects(&r); err != nil {
		return "", err
	}
	q := st.jobs
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return "", errors.New("the library is closed")
	}
	q.next++
	j := &Job{ID: "job-" + strconv.Itoa(q.next), Title: title(r), Recipe: r, State: JobQueued, Total: r.Steps}
	q.pending = append(q.pending, j)
	snap := *j
	q.cond.Signal()
	q.mu.Unlock()
	q.emit(JobEvent{Job: snap})
	return j.ID, nil
}

func title(r Recipe) string {
	p := []rune(r.Prompt)
	if len(p) > 40 {
		p = append(p[:39], '…')
	}
	return fmt.Sprintf("%s ×%d", string(p), r.N)
}

// Cancel stops a running job or drops a queued one. It reports whether the
// job was still unfinished.
func (st *Studio) Cancel(id string) bool {
	q := st.jobs
	q.mu.Lock()
	if q.running != nil && q.running.ID == id {
		q.cancel()
		q.mu.Unlock()
		return true
	}
	for i, j := range q.pending {
		if j.ID == id {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			j.State = JobCancelled
			snap := *j
			q.mu.Unlock()
			q.emit(JobEvent{Job: snap})
			return true
		}
	}
	q.mu.Unlock()
	return false
}

// Jobs lists the running job, then the queued ones in order.
func (st *Studio) Jobs() []Job {
	q := st.jobs
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Job
	if q.running != nil {
		out = append(out, *q.running)
	}
	for _, j := range q.pending {
		out = append(out, *j)
	}
	return out
}

func (q *queue) emit(ev JobEvent) {
	q.mu.Lock()
	fns := make([]func(JobEvent), 0, len(q.subs))
	for _, fn := range q.subs {
		fns = append(fns, fn)
	}
	q.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// stop cancels the running job, drops queued ones and waits for the worker.
func (q *queue) stop() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	if q.cancel != nil {
		q.cancel()
	}
	q.pending = nil
	q.cond.Broadcast()
	q.mu.Unlock()
	<-q.done
}

func (q *queue) work() {
	defer close(q.done)
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closed {
			q.cond.Wait()
		}
		if q.closed {
			q.mu.Unlock()
			return
		}
		j := q.pending[0]
		q.pending = q.pending[1:]
		ctx, cancel := context.WithCancel(context.Background())
		q.running, q.cancel = j, cancel
		j.State = JobRunning
		snap := *j
		q.mu.Unlock()
		q.emit(JobEvent{Job: snap})

		if j.run != nil {
			j.run(ctx, q, j)
		} else {
			q.run(ctx, j)
		}
		cancel()

		q.mu.Lock()
		q.running, q.cancel = nil, nil
		snap = *j
		q.mu.Unlock()
		q.emit(JobEvent{Job: snap})
	}
}

// run generates the job's pictures and saves them together with the end of
// its job record, so a cancel or crash leaves no half-saved batch.
func (q *queue) run(ctx context.Context, j *Job) {
	st := q.st
	fail := func(err error) {
		q.mu.Lock()
		j.State, j.Err = JobFailed, err
		q.mu.Unlock()
	}
	f, err := st.facts(j.Recipe.ModelRef)
	if err != nil {
		fail(err)
		return
	}
	req, r, err := j.Recipe.request(f.info)
	if err != nil {
		fail(err)
		return
	}
	var controlImage image.Image
	if req.Control, controlImage, err = controlInput(r.Control, req.Width, req.Height); err != nil {
		fail(err)
		return
	}
	r.ModelName, r.ModelFingerprint = f.info.Name, f.fingerprint
	if req.Guidance, err = st.subjectGuidance(r); err != nil {
		fail(err)
		return
	}
	req.PreviewEvery = PreviewEvery
	q.mu.Lock()
	j.Recipe = r
	q.mu.Unlock()

	rec, err := st.lib.BeginJob("generate", j.Title, "")
	if err != nil {
		fail(fmt.Errorf("record the job: %w", err))
		return
	}
	st.rememberModel(r.ModelRef, f)
	res, err := st.svc.Generate(ctx, r.ModelRef, req, func(ev diffusion.Event) {
		q.mu.Lock()
		j.Step, j.Total, j.Elapsed, j.ETA = ev.Step, ev.Total, ev.Elapsed, ev.ETA
		snap := *j
		q.mu.Unlock()
		q.emit(JobEvent{Job: snap, Preview: ev.Preview})
	})
	switch {
	case errors.Is(err, context.Canceled):
		q.mu.Lock()
		j.State = JobCancelled
		q.mu.Unlock()
		_ = st.lib.FinishJob(rec.ID, storage.JobCancelled, "", nil)
		return
	case err != nil:
		fail(err)
		_ = st.lib.FinishJob(rec.ID, storage.JobFailed, err.Error(), nil)
		return
	}
	imgs := make([]image.Image, len(res.Images))
	seeds := make([]int64, len(res.Images))
	for k, img := range res.Images {
		imgs[k], seeds[k] = img, int64(res.Seeds[k])
	}
	var items []Item
	err = st.lib.FinishJob(rec.ID, storage.JobDone, "", func(tx *storage.Tx) error {
		items, err = putGenerations(tx, r, imgs, seeds, controlImage)
		return err
	})
	q.mu.Lock()
	defer q.mu.Unlock()
	if err != nil {
		j.State, j.Err = JobFailed, fmt.Errorf("save the pictures: %w", err)
		return
	}
	j.State, j.Items = JobDone, items
}
