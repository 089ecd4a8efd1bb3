package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/oneactor"
	"github.com/oneactor/oneactor-desktop/core/service"
	"github.com/oneactor/oneactor-desktop/storage"
)

const subjectUsage = `Usage: oneactor-desktop subject COMMAND [flags]

  cast    --prompt "a photo of a mug" --word mug [--n 11 --seed S --out DIR]
          generate the candidates of a base prompt and write them as PNGs to pick from
  tune    --name NAME --prompt P --word W [--target K --seed S --aux 10 --steps 200 --low-memory]
          cast with the same seeds, take candidate K as the subject, tune, store it
          (also spelled create)
  list    the stored subjects
  show    NAME|ID
  export  NAME|ID FILE.oneactor
  import  FILE.oneactor [--force]

Common: --model DIR|toyworld
`

func runSubject(args []string, svc *service.Service, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, subjectUsage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("subject "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", service.BundledModel, "model folder or toyworld")
	prompt := fs.String("prompt", "", "base prompt")
	word := fs.String("word", "", "base word (one token)")
	name := fs.String("name", "", "subject name")
	n := fs.Int("n", 1+oneactor.DefaultAux, "candidates to cast")
	aux := fs.Int("aux", oneactor.DefaultAux, "auxiliary images")
	seed := fs.Uint64("seed", 1, "casting seed (candidate k uses seed+k)")
	target := fs.Int("target", 0, "candidate that becomes the subject")
	steps := fs.Int("steps", 200, "tuning steps")
	lowMem := fs.Bool("low-memory", false, "tune one row per UNet call (a fifth of the activation memory, slower)")
	out := fs.String("out", ".", "folder for candidate PNGs")
	force := fs.Bool("force", false, "import a subject tuned for another model (marked incompatible)")
	fs.Usage = func() { fmt.Fprint(stderr, subjectUsage) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "subject:", err); return 1 }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgressBar(stderr)
	phaseStart := map[string]time.Time{}
	phaseEnd := map[string]time.Time{}
	progress := func(ev service.SubjectEvent) {
		if _, ok := phaseStart[ev.Phase]; !ok {
			phaseStart[ev.Phase] = time.Now()
		}
		phaseEnd[ev.Phase] = time.Now()
		bar.updateText(fmt.Sprintf("%s %d/%d", ev.Phase, ev.Step, ev.Total), ev.Step, ev.Total, ev.Loss)
	}

	if cmd == "cast" {
		if *prompt == "" || *word == "" {
			return fail(fmt.Errorf("--prompt and --word are required"))
		}
		cands, _, err := svc.Cast(ctx, *model, *prompt, *word, *seed, *n, progress)
		bar.done()
		if err != nil {
			return fail(err)
		}
		os.MkdirAll(*out, 0o755)
		for k, c := range cands {
			p := filepath.Join(*out, fmt.Sprintf("candidate-%02d-seed%d.png", k, c.Seed))
			if err := imageio.WritePNGFile(p, c.Image); err != nil {
				return fail(err)
			}
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintf(stdout, "pick one: subject tune --prompt %q --word %s --seed %d --aux %d --target K --name NAME\n", *prompt, *word, *seed, *n-1)
		return 0
	}

	lib, err := storage.Open(svc.DataDir(), nil)
	if err != nil {
		return fail(err)
	}
	defer lib.Close()
	switch cmd {
	case "tune", "create":
		if *name == "" || *prompt == "" || *word == "" {
			return fail(fmt.Errorf("--name, --prompt and --word are required"))
		}
		cfg := oneactor.DefaultTune()
		cfg.Steps = *steps
		cfg.LowMemory = *lowMem
		cfg.Templates = nil // the model's own caption templates when it has them
		s, err := svc.MakeSubject(ctx, lib, service.SubjectRequest{Model: *model, Name: *name, BasePrompt: *prompt,
			BaseWord: *word, Seed: *seed, Aux: *aux, Target: *target, Tune: cfg}, progress)
		bar.done()
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "subject %q (%s) stored; final loss %.4f; casting %.1fs, tuning %d steps %.1fs\n", s.Name, s.ID,
			s.LossCurve[len(s.LossCurve)-1], phaseEnd["cast"].Sub(phaseStart["cast"]).Seconds(), cfg.Steps,
			phaseEnd["tune"].Sub(phaseStart["tune"]).Seconds())
	case "list":
		subs, err := lib.Subjects()
		if err != nil {
			return fail(err)
		}
		for _, s := range subs {
			fmt.Fprintf(stdout, "%-24s %-10s %q (%s)\n", s.Name, s.BaseWord, s.BasePrompt, s.ID)
		}
	case "show", "export":
		if fs.NArg() < 1 {
			return fail(fmt.Errorf("name or id required"))
		}
		s, err := findSubject(lib, fs.Arg(0))
		if err != nil {
			return fail(err)
		}
		if cmd == "export" {
			if fs.NArg() < 2 {
				return fail(fmt.Errorf("output file required"))
			}
			if err := lib.ExportSubjectFile(s.ID, fs.Arg(1)); err != nil {
				return fail(err)
			}
			fmt.Fprintln(stdout, fs.Arg(1))
			return 0
		}
		fmt.Fprintf(stdout, "name:        %s\nid:          %s\nbase word:   %s\nbase prompt: %s\nmodel:       %s\n",
			s.Name, s.ID, s.BaseWord, s.BasePrompt, s.ModelFingerprint)
		fmt.Fprintf(stdout, "images:      1 target + %d auxiliaries\ntuning:      %d steps, lr %g; loss %.4f → %.4f\n",
			len(s.Auxiliaries), s.Tuning.Steps, s.Tuning.LR, first(s.LossCurve), last(s.LossCurve))
	case "import":
		if fs.NArg() < 1 {
			return fail(fmt.Errorf("bundle file required"))
		}
		fp := ""
		if m, err := svc.OpenModel(*model); err == nil {
			fp, _ = m.Fingerprint()
		}
		s, err := lib.ImportSubjectFile(fs.Arg(0), storage.ImportOptions{ModelFingerprint: fp, Force: *force})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "imported %q (%s)\n", s.Name, s.ID)
	default:
		fmt.Fprint(stderr, subjectUsage)
		return 2
	}
	return 0
}

func first(v storage.Floats) float32 {
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

func last(v storage.Floats) float32 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

// findSubject looks a subject up by id, or by name (case-insensitive).
func findSubject(lib *storage.Library, key string) (*storage.Subject, error) {
	if s, err := lib.Subject(key); err == nil {
		return s, nil
	}
	subs, err := lib.Subjects()
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		if strings.EqualFold(s.Name, key) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("no subject named %q (see `subject list`)", key)
}
