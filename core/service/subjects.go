package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/oneactor"
	"github.com/oneactor/oneactor-desktop/storage"
)

// SubjectRequest describes a subject to make from a base prompt: cast
// 1 + Aux images, take candidate Target as the subject and the rest as
// auxiliaries, tune, store.
type SubjectRequest struct {
	Model      string // model reference
	Name       string
	BasePrompt string
	BaseWord   string
	Seed       uint64 // casting seeds: Seed … Seed+Aux
	Aux        int    // auxiliaries (default 10)
	Target     int    // which candidate is the subject
	Tune       oneactor.TuneConfig
}

// SubjectEvent reports casting and tuning progress.
type SubjectEvent struct {
	Phase string // "cast" or "tune"
	Step  int
	Total int
	Loss  float64
}

// Cast generates the candidates of a base prompt (for the user to pick
// from), with their h.
func (s *Service) Cast(ctx context.Context, ref, basePrompt, baseWord string, seed uint64, n int, onEvent func(SubjectEvent)) ([]oneactor.Candidate, *oneactor.Caster, error) {
	e, err := s.Engine(ref)
	if err != nil {
		return nil, nil, err
	}
	if err := oneactor.CheckBaseWord(e.Model.Tokenizer, basePrompt, baseWord); err != nil {
		return nil, nil, err
	}
	rt, err := s.Runtime()
	if err != nil {
		return nil, nil, err
	}
	c, err := oneactor.NewCaster(ctx, rt, e, filepath.Join(s.cfg.DataDir, "cache", "h"))
	if err != nil {
		return nil, nil, err
	}
	cands, err := c.Candidates(ctx, basePrompt, seed, n, func(ev diffusion.Event) {
		if onEvent != nil {
			onEvent(SubjectEvent{Phase: "cast", Step: ev.Step, Total: ev.Total})
		}
	})
	return cands, c, err
}

// MakeSubject casts, tunes and stores a subject. The library holds a job
// record from start to end; the subject is written in the same transaction
// that finishes the job, so a crash or cancel leaves no half subject.
func (s *Service) MakeSubject(ctx context.Context, lib *storage.Library, req SubjectRequest, onEvent func(SubjectEvent)) (*storage.Subject, error) {
	if req.Aux <= 0 {
		req.Aux = oneactor.DefaultAux
	}
	if req.Target < 0 || req.Target > req.Aux {
		return nil, fmt.Errorf("target %d: choose one of the %d candidates", req.Target, req.Aux+1)
	}
	if req.Tune.Steps == 0 {
		req.Tune = oneactor.DefaultTune()
		req.Tune.Templates = nil // the model's own templates when it has them
	}
	job, err := lib.BeginJob("tune", req.Name, "")
	if err != nil {
		return nil, err
	}
	finish := func(err error) error {
		state := storage.JobFailed
		if errors.Is(err, context.Canceled) {
			state = storage.JobCancelled
		}
		if ferr := lib.FinishJob(job.ID, state, err.Error(), nil); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	}
	cands, caster, err := s.Cast(ctx, req.Model, req.BasePrompt, req.BaseWord, req.Seed, req.Aux+1, onEvent)
	if err != nil {
		return nil, finish(err)
	}
	set := &CastSet{Candidates: cands, LatentH: caster.LatentH, LatentW: caster.LatentW, HShape: caster.HShape()}
	subj, err := s.tuneAndStore(ctx, lib, job.ID, set, req, onEvent)
	if err != nil && !errors.Is(err, errStored) {
		return nil, finish(err)
	}
	if err != nil {
		return nil, err
	}
	return subj, nil
}

// CastSet is the cast images a subject is tuned from, with the sizes the
// casting worked at.
type CastSet struct {
	Candidates       []oneactor.Candidate
	LatentH, LatentW int64
	HShape           []int64 // h's C×H×W
}

// errStored marks an error of the final store: the job record was already
// closed by FinishJob, so it must not be finished again.
var errStored = errors.New("store the subject")

// TuneCast tunes a subject from cast images (candidate req.Target is the
// subject, the others its auxiliaries) and stores it, under a job record
// like MakeSubject (a cancel or crash leaves no half subject).
func (s *Service) TuneCast(ctx context.Context, lib *storage.Library, set *CastSet, req SubjectRequest, onEvent func(SubjectEvent)) (*storage.Subject, error) {
	if req.Target < 0 || req.Target >= len(set.Candidates) {
		return nil, fmt.Errorf("target %d: choose one of the %d candidates", req.Target, len(set.Candidates))
	}
	if len(set.Candidates) < 2 {
		return nil, errors.New("a subject needs at least one auxiliary image besides the target")
	}
	if req.Tune.Steps == 0 {
		req.Tune = oneactor.DefaultTune()
		req.Tune.Templates = nil
	}
	job, err := lib.BeginJob("tune", req.Name, "")
	if err != nil {
		return nil, err
	}
	subj, err := s.tuneAndStore(ctx, lib, job.ID, set, req, onEvent)
	switch {
	case err == nil:
		return subj, nil
	case errors.Is(err, errStored):
		return nil, err
	}
	state := storage.JobFailed
	if errors.Is(err, context.Canceled) {
		state = storage.JobCancelled
	}
	if ferr := lib.FinishJob(job.ID, state, err.Error(), nil); ferr != nil {
		return nil, errors.Join(err, ferr)
	}
	return nil, err
}

// tuneAndStore tunes on set and stores the subject in the transaction that
// finishes job jobID. Errors before the store leave the job open for the
// caller to finish; a failed store comes back wrapped in errStored.
func (s *Service) tuneAndStore(ctx context.Context, lib *storage.Library, jobID string, set *CastSet, req SubjectRequest, onEvent func(SubjectEvent)) (*storage.Subject, error) {
	cands := set.Candidates
	data := &oneactor.SubjectData{BaseWord: req.BaseWord, Target: cands[req.Target].Sample}
	for i, c := range cands {
		if i != req.Target {
			data.Aux = append(data.Aux, c.Sample)
		}
	}
	e, err := s.Engine(req.Model)
	if err != nil {
		return nil, err
	}
	if req.Tune.Templates == nil && e.Model.CaptionTemplates != nil {
		req.Tune.Templates = e.Model.CaptionTemplates
	}
	rt, _ := s.Runtime()
	tuner, err := oneactor.NewTuner(ctx, rt, e, set.LatentH, set.LatentW, set.HShape, req.Tune, filepath.Join(s.cfg.DataDir, "cache", "grad"))
	if err != nil {
		return nil, err
	}
	defer tuner.Close()
	curve, err := tuner.Run(ctx, data, func(p oneactor.Progress) {
		if onEvent != nil {
			onEvent(SubjectEvent{Phase: "tune", Step: p.Step, Total: p.Total, Loss: p.Loss})
		}
	})
	if err != nil {
		return nil, err
	}
	tar, aver, err := tuner.Offsets(ctx, rt, data)
	if err != nil {
		return nil, err
	}
	fp, err := e.Model.Fingerprint()
	if err != nil {
		return nil, err
	}
	subj := &storage.Subject{Name: req.Name, BaseWord: req.BaseWord, BasePrompt: req.BasePrompt, ModelFingerprint: fp,
		DeltaTar: tar, DeltaAver: aver, LossCurve: toFloats(curve),
		Tuning: storage.TuningSettings{Steps: req.Tune.Steps, LR: req.Tune.LR, Beta1: req.Tune.Beta1, Beta2: req.Tune.Beta2,
			WeightDecay: req.Tune.WeightDecay, Lambda1: req.Tune.Lambda1, Lambda2: req.Tune.Lambda2, Seed: int64(req.Tune.Seed),
			CastSteps: oneactor.CastSteps, CastCFG: oneactor.CastCFG, CastSampler: "euler"}}
	latShape := []int{int(e.Model.LatentChannels), int(set.LatentH), int(set.LatentW)}
	hs := set.HShape
	hShape := []int{int(hs[0]), int(hs[1]), int(hs[2])}
	err = lib.FinishJob(jobID, storage.JobDone, "", func(tx *storage.Tx) error {
		put := func(c oneactor.Candidate) (storage.SubjectImage, error) {
			var png bytes.Buffer
			if err := imageio.EncodePNG(&png, c.Image); err != nil {
				return storage.SubjectImage{}, err
			}
			img, err := tx.PutBlob(png.Bytes())
			if err != nil {
				return storage.SubjectImage{}, err
			}
			z, err := tx.PutBlob(storage.FloatsToBytes(c.Sample.Z0))
			if err != nil {
				return storage.SubjectImage{}, err
			}
			h, err := tx.PutBlob(storage.FloatsToBytes(c.Sample.H))
			if err != nil {
				return storage.SubjectImage{}, err
			}
			return storage.SubjectImage{Image: img, Seed: int64(c.Seed),
				Latent: storage.Tensor{Shape: latShape, Data: z}, H: storage.Tensor{Shape: hShape, Data: h}}, nil
		}
		var err error
		if subj.Target, err = put(cands[req.Target]); err != nil {
			return err
		}
		subj.Thumbnail = subj.Target.Image
		for i, c := range cands {
			if i == req.Target {
				continue
			}
			si, err := put(c)
			if err != nil {
				return err
			}
			subj.Auxiliaries = append(subj.Auxiliaries, si)
		}
		var set []storage.NamedTensor
		weights := tuner.Params()
		for _, p := range tuner.Projector().Params {
			shape := make([]int, len(p.Dims))
			for i, d := range p.Dims {
				shape[i] = int(d)
			}
			set = append(set, storage.NamedTensor{Name: p.Name, Shape: shape, Data: weights[p.Name]})
		}
		enc, err := storage.EncodeTensorSet(set)
		if err != nil {
			return err
		}
		if subj.Projector, err = tx.PutBlob(enc); err != nil {
			return err
		}
		return tx.PutSubject(subj)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStored, err)
	}
	return subj, nil
}

func toFloats(v []float64) storage.Floats {
	out := make(storage.Floats, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// SubjectOffsets turns stored subjects into guidance offsets, refusing
// subjects tuned for another model.
func SubjectOffsets(subjects []*storage.Subject, modelFingerprint string) ([]oneactor.Offsets, error) {
	var out []oneactor.Offsets
	for _, s := range subjects {
		if s.ModelFingerprint != modelFingerprint || s.Incompatible {
			return nil, fmt.Errorf("subject %q was tuned for another model (fingerprint %s, this model %s): tune it again for this model",
				s.Name, s.ModelFingerprint, modelFingerprint)
		}
		out = append(out, oneactor.Offsets{BaseWord: s.BaseWord, Tar: s.DeltaTar, Aver: s.DeltaAver})
	}
	return out, nil
}
