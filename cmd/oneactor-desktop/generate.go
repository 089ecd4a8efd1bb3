package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/oneactor"
	"github.com/oneactor/oneactor-desktop/core/schedule"
	"github.com/oneactor/oneactor-desktop/core/service"
	"github.com/oneactor/oneactor-desktop/storage"
)

const generateUsage = `Usage: oneactor-desktop generate [flags]

Makes pictures without opening the window and writes them as PNG files that
carry their recipe (AUTOMATIC1111 "parameters" text).

Flags:
`

// runGenerate is the `generate` subcommand.
func runGenerate(args []string, svc *service.Service, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", service.BundledModel, "model folder, or toyworld for the bundled demo model")
	prompt := fs.String("prompt", "", "what to draw (required)")
	negative := fs.String("negative", "", "what to avoid")
	steps := fs.Int("steps", 30, "sampling steps")
	cfg := fs.Float64("cfg", 7.5, "classifier-free guidance scale")
	sampler := fs.String("sampler", "euler", `sampler: euler, euler_a, ddim, dpmpp_2m, lcm, or an A1111 name ("DPM++ 2M Karras")`)
	seedFlag := fs.Int64("seed", -1, "seed (-1: random); image k of a batch uses seed+k")
	n := fs.Int("n", 1, "number of images")
	width := fs.Int("width", 0, "width in pixels (default: the model's native size)")
	height := fs.Int("height", 0, "height in pixels (default: the model's native size)")
	initImage := fs.String("init-image", "", "start from this picture (img2img)")
	strength := fs.Float64("strength", 0.75, "img2img strength: 0 keeps the picture, 1 ignores it")
	controlImage := fs.String("control-image", "", "ControlNet conditioning image (e.g. an OpenPose skeleton)")
	controlScale := fs.Float64("control-scale", 1, "ControlNet strength")
	out := fs.String("out", ".", "folder for the PNG files")
	subjects := fs.String("subject", "", "draw these stored subjects (NAME[,NAME2]); their base words must be in the prompt")
	v := fs.Float64("v", 0.8, "subject semantic scale v")
	eta1 := fs.Float64("eta1", 8.5, "subject guidance η1")
	eta2 := fs.Float64("eta2", 1.0, "subject guidance η2 (0: plain-sampling cost)")
	fs.Usage = func() { fmt.Fprint(stderr, generateUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "generate:", err); return 1 }
	if strings.TrimSpace(*prompt) == "" {
		fmt.Fprintln(stderr, "generate: --prompt is required")
		return 2
	}
	kind, karras, err := schedule.ParseDisplayName(*sampler, "")
	if err != nil {
		fmt.Fprintln(stderr, "generate:", err)
		return 2
	}
	seed := uint64(*seedFlag)
	if *seedFlag < 0 {
		seed = uint64(rand.Int64N(1 << 32))
	}
	e, err := svc.Engine(*model)
	if err != nil {
		return fail(err)
	}
	m := e.Model
	req := diffusion.Request{Prompt: *prompt, Negative: *negative, Steps: *steps, CFG: *cfg,
		Sampler: kind, SamplerOptions: schedule.Options{Karras: karras}, Seed: seed, N: *n,
		Width: *width, Height: *height}
	if req.Width == 0 {
		req.Width = m.DefaultSize()
	}
	if req.Height == 0 {
		req.Height = m.DefaultSize()
	}
	if *initImage != "" {
		px, err := loadCHW(*initImage, req.Width, req.Height, true)
		if err != nil {
			return fail(err)
		}
		req.Init = &diffusion.InitImage{Pixels: px, Strength: *strength}
	}
	if *controlImage != "" {
		px, err := loadCHW(*controlImage, req.Width, req.Height, false)
		if err != nil {
			return fail(err)
		}
		req.Control = &diffusion.Control{Image: px, Scale: *controlScale, Start: 0, End: 1}
	}
	var extra []imageio.Field
	if *subjects != "" {
		lib, err := storage.Open(svc.DataDir(), nil)
		if err != nil {
			return fail(err)
		}
		var subs []*storage.Subject
		for _, name := range strings.Split(*subjects, ",") {
			s, err := findSubject(lib, strings.TrimSpace(name))
			if err != nil {
				lib.Close()
				return fail(err)
			}
			subs = append(subs, s)
		}
		lib.Close()
		fp, err := m.Fingerprint()
		if err != nil {
			return fail(err)
		}
		offs, err := service.SubjectOffsets(subs, fp)
		if err != nil {
			return fail(err)
		}
		g := oneactor.DefaultGuidance()
		g.V, g.Eta1, g.Eta2 = *v, *eta1, *eta2
		req.Guidance = oneactor.NewGuidance(m.Tokenizer, req.Prompt, offs, g)
		names := make([]string, len(subs))
		for i, s := range subs {
			names[i] = s.Name
		}
		extra = append(extra, imageio.Field{Key: "OneActor subjects", Value: strings.Join(names, ", ")},
			imageio.Field{Key: "OneActor v/eta1/eta2", Value: fmt.Sprintf("%g/%g/%g", g.V, g.Eta1, g.Eta2)})
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgressBar(stderr)
	res, err := e.Generate(ctx, req, bar.update)
	bar.done()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "generate: cancelled; nothing written")
		return 130
	}
	if err != nil {
		return fail(err)
	}
	fp, _ := m.Fingerprint()
	for k, img := range res.Images {
		rec := imageio.Recipe{Prompt: req.Prompt, NegativePrompt: req.Negative, Steps: req.Steps,
			Sampler: schedule.DisplayName(kind, karras), CFGScale: req.CFG, Seed: int64(res.Seeds[k]),
			Width: req.Width, Height: req.Height, ModelHash: fp, Model: m.Name, Extra: extra}
		if req.Init != nil {
			rec.DenoisingStrength = req.Init.Strength
		}
		text, err := rec.Format()
		if err != nil {
			return fail(err)
		}
		path := uniquePath(filepath.Join(*out, fmt.Sprintf("%s-%d", time.Now().Format("20060102-150405"), res.Seeds[k])), ".png")
		if err := imageio.WritePNGFile(path, img, imageio.Text{Key: imageio.ParametersKey, Value: text}); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, path)
	}
	return 0
}

// loadCHW decodes a picture safely, fits it to w×h and returns CHW floats
// in [-1, 1] (signed) or [0, 1].
func loadCHW(path string, w, h int, signed bool) ([]float32, error) {
	img, _, err := imageio.DecodeFile(path)
	if err != nil {
		return nil, err
	}
	fit, err := imageio.Fill(img, w, h)
	if err != nil {
		return nil, err
	}
	return toCHW(fit, signed), nil
}

func toCHW(img *image.NRGBA, signed bool) []float32 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]float32, 3*w*h)
	for i := 0; i < w*h; i++ {
		for c := 0; c < 3; c++ {
			v := float32(img.Pix[i*4+c]) / 255
			if signed {
				v = v*2 - 1
			}
			out[c*w*h+i] = v
		}
	}
	return out
}

// progressBar draws "[#####-----] 12/30 ETA 3s" on one terminal line.
type progressBar struct {
	w     io.Writer
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar { return &progressBar{w: w} }

func (p *progressBar) update(ev diffusion.Event) {
	p.updateText(fmt.Sprintf("%d/%d  %.1fs elapsed, ETA %.1fs", ev.Step, ev.Total, ev.Elapsed.Seconds(), ev.ETA.Seconds()),
		ev.Step, ev.Total, 0)
}

// updateText draws a bar with a label and an optional loss.
func (p *progressBar) updateText(label string, step, total int, loss float64) {
	const width = 30
	filled := width * step / max(total, 1)
	extra := ""
	if loss != 0 {
		extra = fmt.Sprintf(" loss %.4f", loss)
	}
	fmt.Fprintf(p.w, "\r[%s%s] %s%s   ", strings.Repeat("#", filled), strings.Repeat("-", width-filled), label, extra)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// runModels is the `models` subcommand: the known models and why any is
// unusable.
func runModels(args []string, svc *service.Service, stdout io.Writer) int {
	code := 0
	for _, e := range svc.Models(args) {
		status := "ok"
		if e.Problem != "" {
			status, code = "UNUSABLE: "+e.Problem, 1
		}
		family := e.Family
		if family == "" {
			family = "?"
		}
		fmt.Fprintf(stdout, "%-20s %-7s %s\n        %s\n", e.Name, family, e.Ref, status)
	}
	return code
}

// uniquePath returns base+ext, or base-2+ext, base-3+ext… whichever does
// not exist yet, so two runs in the same second never overwrite a picture.
func uniquePath(base, ext string) string {
	p := base + ext
	for i := 2; ; i++ {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			return p
		}
		p = fmt.Sprintf("%s-%d%s", base, i, ext)
	}
}
