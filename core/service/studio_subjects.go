package service

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/oneactor"
	"github.com/oneactor/oneactor-desktop/core/tokenizer"
	"github.com/oneactor/oneactor-desktop/storage"
)

// This file is the studio's side of OneActor subjects for the GUI:
// casting, tuning and previews as queued jobs (they share the one engine
// with generation jobs, so they run in the same queue), the subject list
// and page, guidance settings, bundles, and subjects in recipes.

// subjectState is the studio's subject work in memory (under Studio.mu).
type subjectState struct {
	toks     map[string]*tokenizer.Tokenizer // by model ref
	castN    int
	castings []*Casting // the newest keptCastings
}

// Guidance is a subject's cluster-conditioned guidance: semantic scale V
// and guidance scales Eta1 (η1), Eta2 (η2).
type Guidance struct{ V, Eta1, Eta2 float64 }

// DefaultSubjectGuidance is the method's default (v 0.8, η1 8.5, η2 1.0).
func DefaultSubjectGuidance() Guidance {
	g := oneactor.DefaultGuidance()
	return Guidance{V: g.V, Eta1: g.Eta1, Eta2: g.Eta2}
}

// Check says, for people, what is wrong with the values.
func (g Guidance) Check() error {
	switch {
	case g.V < 0 || g.V > 2:
		return fmt.Errorf("v must be between 0 and 2 (got %g)", g.V)
	case g.Eta1 < 0 || g.Eta1 > 50:
		return fmt.Errorf("η1 must be between 0 and 50 (got %g)", g.Eta1)
	case g.Eta2 < 0 || g.Eta2 > g.Eta1:
		return fmt.Errorf("η2 must be between 0 and η1 (got %g)", g.Eta2)
	}
	return nil
}

// SubjectUse is a subject drawn in a recipe. Name and BaseWord are filled
// from the library when a recipe is read (the library keeps the id).
type SubjectUse struct {
	ID, Name, BaseWord string
	Guidance
}

// SubjectWork is the state of a subject job (Job.Subject). Every update
// replaces the whole value, so a Job snapshot never changes under its
// reader.
type SubjectWork struct {
	Kind  string // SubjectCast, SubjectTune or SubjectPreview
	Phase string // "cast" or "tune" while running
	Loss  float64
	// Losses is the tuning loss curve so far.
	Losses []float64
	// CastID names the casting whose candidates are ready (casts, when done).
	CastID string
	// SubjectID is the stored subject (tunes, when done).
	SubjectID string
	// Pictures are the preview's pictures (previews, when done).
	Pictures []image.Image
}

// Subject job kinds.
const (
	SubjectCast    = "cast"
	SubjectTune    = "tune"
	SubjectPreview = "preview"
)

// SubjectInfo describes a stored subject for the subject list and page.
type SubjectInfo struct {
	ID, Name, BaseWord, BasePrompt string
	ModelFingerprint               string
	// Incompatible marks a subject imported for another model.
	Incompatible bool
	Auxiliaries  int
	Steps        int // tuning steps
	LossCurve    []float64
	Created      time.Time
	Guidance     Guidance
}

func subjectInfo(s *storage.Subject, g Guidance) SubjectInfo {
	curve := make([]float64, len(s.LossCurve))
	for i, v := range s.LossCurve {
		curve[i] = float64(v)
	}
	return SubjectInfo{ID: s.ID, Name: s.Name, BaseWord: s.BaseWord, BasePrompt: s.BasePrompt,
		ModelFingerprint: s.ModelFingerprint, Incompatible: s.Incompatible, Auxiliaries: len(s.Auxiliaries),
		Steps: s.Tuning.Steps, LossCurve: curve, Created: s.Created, Guidance: g}
}

func guidanceKey(id string) string { return "subject.guidance." + id }

func (st *Studio) guidanceOf(id string) Guidance {
	var g Guidance
	if ok, err := st.lib.Setting(guidanceKey(id), &g); err != nil || !ok {
		return DefaultSubjectGuidance()
	}
	return g
}

// Subjects lists the stored subjects by name.
func (st *Studio) Subjects() ([]SubjectInfo, error) {
	subs, err := st.lib.Subjects()
	if err != nil {
		return nil, fmt.Errorf("read the subjects: %w", err)
	}
	out := make([]SubjectInfo, len(subs))
	for i, s := range subs {
		out[i] = subjectInfo(s, st.guidanceOf(s.ID))
	}
	return out, nil
}

// Subject describes one subject.
func (st *Studio) Subject(id string) (SubjectInfo, error) {
	s, err := st.lib.Subject(id)
	if err != nil {
		return SubjectInfo{}, err
	}
	return subjectInfo(s, st.guidanceOf(id)), nil
}

// SubjectPictures decodes a subject's target and auxiliary pictures.
func (st *Studio) SubjectPictures(id string) (target image.Image, aux []image.Image, err error) {
	s, err := st.lib.Subject(id)
	if err != nil {
		return nil, nil, err
	}
	if target, err = st.blobImage(s.Target.Image); err != nil {
		return nil, nil, fmt.Errorf("subject %s: %w", s.Name, err)
	}
	for _, a := range s.Auxiliaries {
		img, err := st.blobImage(a.Image)
		if err != nil {
			return nil, nil, fmt.Errorf("subject %s: %w", s.Name, err)
		}
		aux = append(aux, img)
	}
	return target, aux, nil
}

// SubjectThumbnail decodes a subject's thumbnail (its target picture).
func (st *Studio) SubjectThumbnail(id string) (image.Image, error) {
	s, err := st.lib.Subject(id)
	if err != nil {
		return nil, err
	}
	ref := s.Thumbnail
	if ref.IsZero() {
		ref = s.Target.Image
	}
	return st.blobImage(ref)
}

func (st *Studio) blobImage(ref storage.BlobRef) (image.Image, error) {
	data, err := st.lib.Blob(ref)
	if err != nil {
		return nil, err
	}
	img, _, err := imageio.DecodeBytes(data)
	return img, err
}

// RenameSubject gives a subject a new name.
func (st *Studio) RenameSubject(id, name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return errors.New("a subject needs a name")
	}
	return st.lib.RenameSubject(id, name)
}

// DeleteSubject deletes a subject (pictures made with it keep their
// recipe) and its guidance settings.
func (st *Studio) DeleteSubject(id string) error {
	if err := st.lib.DeleteSubject(id); err != nil {
		return err
	}
	_ = st.lib.DeleteSetting(guidanceKey(id))
	return nil
}

// SetSubjectGuidance stores the guidance a subject is drawn with.
func (st *Studio) SetSubjectGuidance(id string, g Guidance) error {
	if err := g.Check(); err != nil {
		return err
	}
	if _, err := st.lib.Subject(id); err != nil {
		return err
	}
	return st.lib.SetSetting(guidanceKey(id), g)
}

// ExportSubject writes a subject as a .oneactor bundle to path.
func (st *Studio) ExportSubject(id, path string) error {
	return st.lib.ExportSubjectFile(id, path)
}

// OtherModelError says a bundle was made for another model than the one
// in use; ImportSubject with force keeps it, marked incompatible.
type OtherModelError struct{ Err error }

func (e *OtherModelError) Error() string { return e.Err.Error() }
func (e *OtherModelError) Unwrap() error { return e.Err }

// ImportSubject reads a .oneactor bundle into the library. A bundle made
// for another model than modelRef's is refused with *OtherModelError
// unless force (then it is kept, marked incompatible).
func (st *Studio) ImportSubject(path, modelRef string, force bool) (SubjectInfo, error) {
	opts := storage.ImportOptions{Force: force}
	if modelRef != "" {
		f, err := st.facts(modelRef)
		if err != nil {
			return SubjectInfo{}, err
		}
		opts.ModelFingerprint = f.fingerprint
	}
	s, err := st.lib.ImportSubjectFile(path, opts)
	var fm *storage.FingerprintMismatchError
	if errors.As(err, &fm) {
		return SubjectInfo{}, &OtherModelError{err}
	}
	if err != nil {
		return SubjectInfo{}, err
	}
	return subjectInfo(s, st.guidanceOf(s.ID)), nil
}

// SubjectProblem says why a subject cannot be drawn with modelRef ("" when
// it can).
func (st *Studio) SubjectProblem(id, modelRef string) string {
	s, err := st.lib.Subject(id)
	if err != nil {
		return err.Error()
	}
	f, err := st.facts(modelRef)
	if err != nil {
		return err.Error()
	}
	if _, err := SubjectOffsets([]*storage.Subject{s}, f.fingerprint); err != nil {
		return err.Error()
	}
	return ""
}

// tokenizer returns a model's tokenizer (read once per model).
func (st *Studio) tokenizer(ref string) (*tokenizer.Tokenizer, error) {
	st.mu.Lock()
	if st.subj.toks == nil {
		st.subj.toks = map[string]*tokenizer.Tokenizer{}
	}
	t, ok := st.subj.toks[ref]
	st.mu.Unlock()
	if ok {
		return t, nil
	}
	m, err := st.svc.OpenModel(ref)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	st.subj.toks[ref] = m.Tokenizer
	st.mu.Unlock()
	return m.Tokenizer, nil
}

// BaseWordProblem says why a base word cannot be used: not one token of
// the model's tokenizer (with Suggestions that are), or not in the base
// prompt.
type BaseWordProblem struct {
	Message     string
	Suggestions []string
}

func (p *BaseWordProblem) Error() string { return p.Message }

// CheckBaseWord checks a base word against the model's tokenizer and the
// base prompt; nil means it can be used.
func (st *Studio) CheckBaseWord(modelRef, basePrompt, word string) error {
	if strings.TrimSpace(word) == "" {
		return &BaseWordProblem{Message: "write the base word: the one word of the base prompt that names the subject"}
	}
	tok, err := st.tokenizer(modelRef)
	if err != nil {
		return err
	}
	err = oneactor.CheckBaseWord(tok, basePrompt, word)
	var bw *oneactor.BaseWordError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &bw):
		pieces := make([]string, len(bw.Pieces))
		for i, p := range bw.Pieces {
			pieces[i] = strings.TrimSuffix(p, "</w>") // the BPE end-of-word mark
		}
		return &BaseWordProblem{Message: fmt.Sprintf("“%s” is not one token of this model's tokenizer (it splits into %s), so it cannot carry a subject",
			bw.Word, strings.Join(pieces, " + ")), Suggestions: bw.Suggestions}
	default:
		return &BaseWordProblem{Message: err.Error()}
	}
}

// CastRequest asks for the candidates of a new subject.
type CastRequest struct {
	ModelRef   string
	BasePrompt string
	BaseWord   string
	Seed       int64 // RandomSeed: a random one; candidate k uses Seed+k
	N          int   // candidates (default 1 + 10)
	// Photo, when set, is a picture file that becomes the target; N−1
	// auxiliaries are cast from the base prompt. PhotoID does the same
	// with a library picture (a reference).
	Photo   string
	PhotoID string
}

// Casting is a finished cast: the candidates to pick the target from.
type Casting struct {
	ID         string
	Request    CastRequest
	Candidates []image.Image
	Seeds      []int64
	// Fixed is the target that cannot be changed (0 for a photo), or −1.
	Fixed int

	set *CastSet
}

// keptCastings bounds the castings kept in memory for tuning.
const keptCastings = 4

// CastSubject queues the casting of a new subject's candidates. When the
// job is done, its Subject.CastID names the Casting to pick from.
func (st *Studio) CastSubject(r CastRequest) (string, error) {
	if r.N <= 0 {
		r.N = 1 + oneactor.DefaultAux
	}
	if r.N < 2 || r.N > 32 {
		return "", fmt.Errorf("cast between 2 and 32 candidates (got %d)", r.N)
	}
	if err := st.CheckBaseWord(r.ModelRef, r.BasePrompt, r.BaseWord); err != nil {
		return "", err
	}
	if r.Seed < 0 {
		r.Seed = rand.Int64N(1 << 32)
	}
	title := "Cast “" + r.BasePrompt + "”"
	if r.Photo != "" || r.PhotoID != "" {
		title = "Read the photo for “" + r.BasePrompt + "”"
	}
	return st.submitWork(title, SubjectWork{Kind: SubjectCast, Phase: "cast"}, func(ctx context.Context, q *queue, j *Job) {
		st.runCast(ctx, q, j, r)
	})
}

func (st *Studio) runCast(ctx context.Context, q *queue, j *Job, r CastRequest) {
	onEvent := func(ev SubjectEvent) {
		q.update(j, func(j *Job, w *SubjectWork) { j.Step, j.Total = ev.Step, ev.Total })
	}
	c := &Casting{Request: r, Fixed: -1}
	var cands []oneactor.Candidate
	var caster *oneactor.Caster
	var err error
	if r.Photo == "" && r.PhotoID == "" {
		cands, caster, err = st.svc.Cast(ctx, r.ModelRef, r.BasePrompt, r.BaseWord, uint64(r.Seed), r.N, onEvent)
	} else {
		cands, caster, err = st.castPhoto(ctx, r, onEvent)
		c.Fixed = 0
	}
	if err != nil {
		q.end(j, err)
		return
	}
	st.keepCasting(c, &CastSet{Candidates: cands, LatentH: caster.LatentH, LatentW: caster.LatentW, HShape: caster.HShape()})
	q.update(j, func(j *Job, w *SubjectWork) { w.CastID = c.ID })
	q.end(j, nil)
}

// keepCasting stores a finished casting (the newest keptCastings stay).
func (st *Studio) keepCasting(c *Casting, set *CastSet) {
	c.set = set
	c.Candidates, c.Seeds = nil, nil
	for _, cd := range set.Candidates {
		c.Candidates = append(c.Candidates, cd.Image)
		c.Seeds = append(c.Seeds, int64(cd.Seed))
	}
	st.mu.Lock()
	st.subj.castN++
	c.ID = "cast-" + strconv.Itoa(st.subj.castN)
	st.subj.castings = append(st.subj.castings, c)
	if len(st.subj.castings) > keptCastings {
		st.subj.castings = st.subj.castings[len(st.subj.castings)-keptCastings:]
	}
	st.mu.Unlock()
}

// CastMore queues n more candidates for a casting (seeds after its last):
// more auxiliaries, or more to pick the target from. When the job is done,
// its Subject.CastID names a new Casting holding the old candidates and
// the new ones, in that order.
func (st *Studio) CastMore(castID string, n int) (string, error) {
	old, ok := st.Casting(castID)
	if !ok {
		return "", errors.New("the candidates are no longer kept: cast them again")
	}
	if n < 1 || len(old.Candidates)+n > 32 {
		return "", fmt.Errorf("a casting holds at most 32 pictures (it has %d)", len(old.Candidates))
	}
	r := old.Request
	seed := r.Seed
	for _, s := range old.Seeds {
		seed = max(seed, s+1)
	}
	return st.submitWork("Cast more “"+r.BasePrompt+"”", SubjectWork{Kind: SubjectCast, Phase: "cast"}, func(ctx context.Context, q *queue, j *Job) {
		more, caster, err := st.svc.Cast(ctx, r.ModelRef, r.BasePrompt, r.BaseWord, uint64(seed), n, func(ev SubjectEvent) {
			q.update(j, func(j *Job, w *SubjectWork) { j.Step, j.Total = ev.Step, ev.Total })
		})
		if err != nil {
			q.end(j, err)
			return
		}
		if caster.LatentH != old.set.LatentH || caster.LatentW != old.set.LatentW || !slices.Equal(caster.HShape(), old.set.HShape) {
			q.end(j, errors.New("the model changed since the first candidates: cast them again"))
			return
		}
		c := &Casting{Request: r, Fixed: old.Fixed}
		set := *old.set
		set.Candidates = append(slices.Clone(old.set.Candidates), more...)
		st.keepCasting(c, &set)
		q.update(j, func(j *Job, w *SubjectWork) { w.CastID = c.ID })
		q.end(j, nil)
	})
}

// castPhoto reads a photo as the target (VAE latents, h from one UNet pass
// at a small t) and casts the auxiliaries from the base prompt.
func (st *Studio) castPhoto(ctx context.Context, r CastRequest, onEvent func(SubjectEvent)) ([]oneactor.Candidate, *oneactor.Caster, error) {
	var src image.Image
	var err error
	if r.PhotoID != "" {
		src, err = st.Image(r.PhotoID)
	} else {
		src, _, err = imageio.DecodeFile(r.Photo)
	}
	if err != nil {
		return nil, nil, err
	}
	aux, caster, err := st.svc.Cast(ctx, r.ModelRef, r.BasePrompt, r.BaseWord, uint64(r.Seed), r.N-1, onEvent)
	if err != nil {
		return nil, nil, err
	}
	sample, rgba, err := caster.FromPicture(ctx, src, r.BasePrompt)
	if err != nil {
		return nil, nil, err
	}
	return append([]oneactor.Candidate{{Image: rgba, Sample: sample}}, aux...), caster, nil
}

// Casting returns a finished cast by id (the newest few are kept).
func (st *Studio) Casting(id string) (*Casting, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range st.subj.castings {
		if c.ID == id {
			return c, true
		}
	}
	return nil, false
}

// TuneRequest asks to make a subject of a casting's candidate Target (the
// other candidates become its auxiliaries).
type TuneRequest struct {
	CastID string
	Target int
	Name   string
	Steps  int // tuning steps (default 200)
	// LowMemory runs the five tuning rows one UNet call at a time (about
	// a fifth of the activation memory, slower) instead of in one batch.
	LowMemory bool
}

// TuneSubject queues the tuning of a subject. When the job is done, its
// Subject.SubjectID names the stored subject; its progress carries the
// loss of every step.
func (st *Studio) TuneSubject(r TuneRequest) (string, error) {
	c, ok := st.Casting(r.CastID)
	if !ok {
		return "", errors.New("the candidates are no longer kept: cast them again")
	}
	if r.Target < 0 || r.Target >= len(c.Candidates) {
		return "", errors.New("pick the candidate that should become the subject")
	}
	if c.Fixed >= 0 && r.Target != c.Fixed {
		return "", errors.New("the photo is the subject of this casting")
	}
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return "", errors.New("give the subject a name")
	}
	if r.Steps == 0 {
		r.Steps = oneactor.DefaultTune().Steps
	}
	if r.Steps < 1 || r.Steps > 5000 {
		return "", fmt.Errorf("tuning steps must be between 1 and 5000 (got %d)", r.Steps)
	}
	cfg := oneactor.DefaultTune()
	cfg.Templates = nil // the model's own templates when it has them
	cfg.Steps = r.Steps
	cfg.LowMemory = r.LowMemory
	req := SubjectRequest{Model: c.Request.ModelRef, Name: r.Name, BasePrompt: c.Request.BasePrompt,
		BaseWord: c.Request.BaseWord, Target: r.Target, Tune: cfg}
	return st.submitWork("Tune “"+r.Name+"”", SubjectWork{Kind: SubjectTune, Phase: "tune"}, func(ctx context.Context, q *queue, j *Job) {
		q.update(j, func(j *Job, _ *SubjectWork) { j.Total = r.Steps })
		// The ETA counts from the first step: before it, the gradient
		// models are built or read from the cache (seconds, once).
		var start, first time.Time
		start = time.Now()
		subj, err := st.svc.TuneCast(ctx, st.lib, c.set, req, func(ev SubjectEvent) {
			q.update(j, func(j *Job, w *SubjectWork) {
				w.Phase = ev.Phase
				j.Step, j.Total = ev.Step, ev.Total
				if ev.Phase == "tune" {
					w.Loss = ev.Loss
					w.Losses = append(w.Losses, ev.Loss)
					j.Elapsed = time.Since(start)
					switch {
					case ev.Step <= 1:
						first, j.ETA = time.Now(), 0
					default:
						j.ETA = time.Duration(float64(time.Since(first)) / float64(ev.Step-1) * float64(ev.Total-ev.Step))
					}
				}
			})
		})
		if err == nil {
			q.update(j, func(_ *Job, w *SubjectWork) { w.SubjectID = subj.ID })
		}
		q.end(j, err)
	})
}

// PreviewRequest asks for one small picture of a subject with the given
// guidance (not saved in the gallery).
type PreviewRequest struct {
	SubjectID string
	ModelRef  string
	Prompt    string // "" : the subject's base prompt
	Seed      int64  // picture k uses Seed+k
	N         int    // pictures (default 1): several show how alike the subject comes out
	Steps     int    // default 20
	Guidance  Guidance
}

// PreviewSubject queues a preview; when done, Subject.Pictures holds it.
func (st *Studio) PreviewSubject(r PreviewRequest) (string, error) {
	s, err := st.lib.Subject(r.SubjectID)
	if err != nil {
		return "", err
	}
	if err := r.Guidance.Check(); err != nil {
		return "", err
	}
	if r.Prompt == "" {
		r.Prompt = s.BasePrompt
	}
	if r.Steps <= 0 {
		r.Steps = 20
	}
	rec := DefaultRecipe()
	rec.ModelRef, rec.Prompt, rec.Steps, rec.Seed, rec.N = r.ModelRef, r.Prompt, r.Steps, r.Seed, max(r.N, 1)
	rec.Subjects = []SubjectUse{{ID: s.ID, Guidance: r.Guidance}}
	if err := st.prepareSubjects(&rec); err != nil {
		return "", err
	}
	return st.submitWork("Preview “"+s.Name+"”", SubjectWork{Kind: SubjectPreview}, func(ctx context.Context, q *queue, j *Job) {
		f, err := st.facts(rec.ModelRef)
		if err != nil {
			q.end(j, err)
			return
		}
		req, rr, err := rec.request(f.info)
		if err != nil {
			q.end(j, err)
			return
		}
		rr.ModelFingerprint = f.fingerprint
		if req.Guidance, err = st.subjectGuidance(rr); err != nil {
			q.end(j, err)
			return
		}
		res, err := st.svc.Generate(ctx, rec.ModelRef, req, func(ev diffusion.Event) {
			q.update(j, func(j *Job, _ *SubjectWork) {
				j.Step, j.Total, j.Elapsed, j.ETA = ev.Step, ev.Total, ev.Elapsed, ev.ETA
			})
		})
		if err == nil {
			q.update(j, func(_ *Job, w *SubjectWork) {
				for _, img := range res.Images {
					w.Pictures = append(w.Pictures, img)
				}
			})
		}
		q.end(j, err)
	})
}

// submitWork queues subject work run by the job worker (one job at a time:
// it shares the engine with generation jobs).
func (st *Studio) submitWork(title string, w SubjectWork, run func(ctx context.Context, q *queue, j *Job)) (string, error) {
	q := st.jobs
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return "", errors.New("the library is closed")
	}
	q.next++
	j := &Job{ID: "job-" + strconv.Itoa(q.next), Title: title, State: JobQueued, Subject: &w, run: run}
	q.pending = append(q.pending, j)
	snap := *j
	q.cond.Signal()
	q.mu.Unlock()
	q.emit(JobEvent{Job: snap})
	return j.ID, nil
}

// update changes a running subject job (a fresh SubjectWork value, see
// SubjectWork) and sends the change.
func (q *queue) update(j *Job, f func(j *Job, w *SubjectWork)) {
	q.mu.Lock()
	w := *j.Subject
	f(j, &w)
	j.Subject = &w
	snap := *j
	q.mu.Unlock()
	q.emit(JobEvent{Job: snap})
}

// end sets a subject job's final state from its error (the worker sends
// the final event).
func (q *queue) end(j *Job, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case err == nil:
		j.State = JobDone
	case errors.Is(err, context.Canceled):
		j.State = JobCancelled
	default:
		j.State, j.Err = JobFailed, err
	}
}

// prepareSubjects fills a recipe's subjects from the library (name, base
// word) and checks each can be drawn: tuned for this model, its base word
// in the prompt.
func (st *Studio) prepareSubjects(r *Recipe) error {
	if len(r.Subjects) == 0 {
		return nil
	}
	f, err := st.facts(r.ModelRef)
	if err != nil {
		return err
	}
	tok, err := st.tokenizer(r.ModelRef)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	words := map[string]string{} // base word → the subject acting on it
	for i := range r.Subjects {
		u := &r.Subjects[i]
		if seen[u.ID] {
			return fmt.Errorf("subject %s is used twice", u.Name)
		}
		seen[u.ID] = true
		s, err := st.lib.Subject(u.ID)
		if err != nil {
			return fmt.Errorf("subject %s: %w", u.Name, err)
		}
		u.Name, u.BaseWord = s.Name, s.BaseWord
		if other, ok := words[strings.ToLower(s.BaseWord)]; ok {
			return fmt.Errorf("%s and %s both act on the word “%s”: a prompt can hold one subject per word (use subjects with different base words)",
				other, s.Name, s.BaseWord)
		}
		words[strings.ToLower(s.BaseWord)] = s.Name
		if u.Guidance == (Guidance{}) {
			u.Guidance = st.guidanceOf(s.ID)
		}
		if err := u.Guidance.Check(); err != nil {
			return fmt.Errorf("subject %s: %w", s.Name, err)
		}
		if _, err := SubjectOffsets([]*storage.Subject{s}, f.fingerprint); err != nil {
			return err
		}
		pos, err := tok.WordPositions(r.Prompt, s.BaseWord)
		if err != nil {
			return err
		}
		if len(pos) == 0 {
			return fmt.Errorf("the prompt must contain “%s” to draw the subject %s: its offsets act on that word", s.BaseWord, s.Name)
		}
	}
	return nil
}

// subjectGuidance builds the engine's guidance for a recipe's subjects
// (nil without subjects): each subject at its own base word with its own
// v; η1 and η2 are the first subject's.
func (st *Studio) subjectGuidance(r Recipe) (func(diffusion.Embeddings) (diffusion.Guider, error), error) {
	if len(r.Subjects) == 0 {
		return nil, nil
	}
	tok, err := st.tokenizer(r.ModelRef)
	if err != nil {
		return nil, err
	}
	var subs []*storage.Subject
	for _, u := range r.Subjects {
		s, err := st.lib.Subject(u.ID)
		if err != nil {
			return nil, fmt.Errorf("subject %s: %w", u.Name, err)
		}
		subs = append(subs, s)
	}
	offs, err := SubjectOffsets(subs, r.ModelFingerprint)
	if err != nil {
		return nil, err
	}
	// Each subject keeps its own v: its Δ_tar is scaled here and the
	// guidance adds the offsets at scale 1 (the same float32 products it
	// would form from v). η1 and η2 weigh the rows of all subjects at
	// once, so they are one pair for the picture: the first subject's.
	for i := range offs {
		v := float32(r.Subjects[i].V)
		tar := make([]float32, len(offs[i].Tar))
		for k, x := range offs[i].Tar {
			tar[k] = v * x
		}
		offs[i].Tar = tar
	}
	g := oneactor.DefaultGuidance()
	u := r.Subjects[0].Guidance
	g.V, g.Eta1, g.Eta2 = 1, u.Eta1, u.Eta2
	return oneactor.NewGuidance(tok, r.Prompt, offs, g), nil
}

// nameSubjects fills the names and base words of the subjects in items'
// recipes (the library keeps only their ids).
func (st *Studio) nameSubjects(items []Item) {
	var subs map[string]*storage.Subject
	for i := range items {
		for k := range items[i].Recipe.Subjects {
			if subs == nil {
				subs = map[string]*storage.Subject{}
				all, _ := st.lib.Subjects()
				for _, s := range all {
					subs[s.ID] = s
				}
			}
			u := &items[i].Recipe.Subjects[k]
			if s, ok := subs[u.ID]; ok {
				u.Name, u.BaseWord = s.Name, s.BaseWord
			} else {
				u.Name = "(deleted subject)"
			}
		}
	}
}

func storedSubjects(us []SubjectUse) []storage.SubjectUse {
	var out []storage.SubjectUse
	for _, u := range us {
		out = append(out, storage.SubjectUse{SubjectID: u.ID, V: u.V, Eta1: u.Eta1, Eta2: u.Eta2})
	}
	return out
}

func subjectUses(us []storage.SubjectUse) []SubjectUse {
	var out []SubjectUse
	for _, u := range us {
		out = append(out, SubjectUse{ID: u.SubjectID, Guidance: Guidance{V: u.V, Eta1: u.Eta1, Eta2: u.Eta2}})
	}
	return out
}

// subjectFields are the PNG text fields naming a recipe's subjects (the
// same ones the CLI writes).
func subjectFields(us []SubjectUse) []imageio.Field {
	if len(us) == 0 {
		return nil
	}
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = u.Name
	}
	g := us[0].Guidance
	return []imageio.Field{{Key: "OneActor subjects", Value: strings.Join(names, ", ")},
		{Key: "OneActor v/eta1/eta2", Value: fmt.Sprintf("%g/%g/%g", g.V, g.Eta1, g.Eta2)}}
}

// subjectsFromFields reads the subjects a picture's PNG text names (by
// name only: ids are this library's; see Studio.FindSubjects).
func subjectsFromFields(p imageio.Recipe) []SubjectUse {
	names, ok := p.Get("OneActor subjects")
	if !ok || strings.TrimSpace(names) == "" {
		return nil
	}
	g := DefaultSubjectGuidance()
	if v, ok := p.Get("OneActor v/eta1/eta2"); ok {
		var x Guidance
		if n, _ := fmt.Sscanf(v, "%g/%g/%g", &x.V, &x.Eta1, &x.Eta2); n == 3 && x.Check() == nil {
			g = x
		}
	}
	var out []SubjectUse
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, SubjectUse{Name: n, Guidance: g})
		}
	}
	return out
}

// SubjectIDs lists the ids of a recipe's subjects.
func (r Recipe) SubjectIDs() []string {
	var out []string
	for _, u := range r.Subjects {
		out = append(out, u.ID)
	}
	return out
}
