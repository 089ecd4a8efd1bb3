// Package diffusion loads Stable Diffusion-family model folders exported to
// ONNX (the diffusers script, optimum and Olive layouts) and runs their
// pipelines: text → embeddings → sampling loop → VAE decode, with
// classifier-free guidance, img2img, ControlNet, previews and cancellation.
package diffusion

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/schedule"
	"github.com/oneactor/oneactor-desktop/core/tokenizer"
)

// Family is the model family, which fixes conventions not in the files.
type Family string

const (
	SD1    Family = "sd1"    // text width 768
	SD2    Family = "sd2"    // text width 1024
	SDXL   Family = "sdxl"   // two text encoders, text_embeds/time_ids
	Custom Family = "custom" // other widths (e.g. the ToyWorld demo): SD 1.x conventions
)

// ErrNotSupported marks a recognised model the engine cannot run yet.
var ErrNotSupported = errors.New("not supported yet")

// FolderError names the file and tensor that make a model folder unusable.
type FolderError struct {
	Dir, File, Tensor string
	Problem           string
}

func (e *FolderError) Error() string {
	where := e.Dir
	if e.File != "" {
		where = filepath.Join(e.Dir, e.File)
	}
	if e.Tensor != "" {
		return fmt.Sprintf("model folder %s: tensor %q: %s", where, e.Tensor, e.Problem)
	}
	return fmt.Sprintf("model folder %s: %s", where, e.Problem)
}

// Model is a model folder, read and checked, with no session open yet.
type Model struct {
	Dir    string
	Name   string
	Family Family

	Text       TextEncoderIO
	UNet       UNetIO
	Decoder    DecoderIO
	Encoder    *EncoderIO    // nil when the folder has no vae_encoder
	ControlNet *ControlNetIO // nil without a ControlNet
	// ControlUNet is the residual-accepting UNet paired with ControlNet
	// (OnnxStack convention); nil without one.
	ControlUNet *UNetIO

	Tokenizer *tokenizer.Tokenizer
	Scheduler schedule.Config

	// LatentChannels and Factor describe the latent space: an image of
	// H×W pixels has LatentChannels×H/Factor×W/Factor latents.
	LatentChannels int64
	Factor         int64
	ScalingFactor  float64
	// SampleSize is the UNet's native latent size (config sample_size), 0 if unknown.
	SampleSize int64
	// CaptionTemplates are the model's own caption templates for subject
	// tuning ("{}" = the base word), from an optional oneactor.json in the
	// folder; nil means the generic photo templates.
	CaptionTemplates []string
	// LatentRGB maps latents to preview RGB in [-1,1]: rgb = Σ_c z_c·F[c] + bias.
	LatentRGB     [][3]float32
	LatentRGBBias [3]float32
}

// Default SD 1.x/2.x latent→RGB factors (rows: latent channels; columns: R, G, B).
var sd1LatentRGB = [][3]float32{{0.3512, 0.2297, 0.3227}, {0.3250, 0.4974, 0.2350}, {-0.2829, 0.1762, 0.2721}, {-0.2120, -0.2616, -0.7177}}

type modelIndex map[string]json.RawMessage

// Open reads a model folder: model_index.json, the scheduler and tokenizer
// folders, component configs and each ONNX file's signature (weights are
// not read). Every problem is reported as a FolderError naming the file and
// tensor.
func Open(dir string) (*Model, error) {
	dir = filepath.Clean(dir)
	fail := func(file, tensor, problem string, args ...any) error {
		return &FolderError{Dir: dir, File: file, Tensor: tensor, Problem: fmt.Sprintf(problem, args...)}
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, fail("", "", "not a folder (choose the folder that holds model_index.json)")
	}
	idxData, err := os.ReadFile(filepath.Join(dir, "model_index.json"))
	if err != nil {
		return nil, fail("model_index.json", "", "missing: this is not a diffusers/ONNX Stable Diffusion folder")
	}
	var idx modelIndex
	if err := json.Unmarshal(idxData, &idx); err != nil {
		return nil, fail("model_index.json", "", "not valid JSON: %v", err)
	}
	m := &Model{Dir: dir, Name: filepath.Base(dir)}
	for _, k := range []string{"text_encoder_2", "tokenizer_2"} {
		if _, ok := idx[k]; ok {
			m.Family = SDXL
			return m, fmt.Errorf("model folder %s is an SDXL pipeline (it has %s): %w", dir, k, ErrNotSupported)
		}
	}
	for _, k := range []string{"text_encoder", "unet", "vae_decoder", "tokenizer", "scheduler"} {
		if _, ok := idx[k]; !ok {
			return nil, fail("model_index.json", "", "no %q component", k)
		}
	}

	sig := func(comp string) (onnx.Signature, error) {
		p := filepath.Join(dir, comp, "model.onnx")
		s, err := onnx.ReadSignature(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return s, fail(filepath.Join(comp, "model.onnx"), "", "missing")
			}
			return s, fail(filepath.Join(comp, "model.onnx"), "", "%v", err)
		}
		for _, loc := range s.ExternalFiles {
			if _, err := os.Stat(filepath.Join(dir, comp, loc)); err != nil {
				return s, fail(filepath.Join(comp, loc), "", "missing: model.onnx keeps its weights in this file")
			}
		}
		return s, nil
	}

	teSig, err := sig("text_encoder")
	if err != nil {
		return nil, err
	}
	if m.Text, err = mapTextEncoder(teSig); err != nil {
		return nil, fail(filepath.Join("text_encoder", "model.onnx"), err.(*roleError).tensor, "%s", err.(*roleError).problem)
	}
	unetSig, err := sig("unet")
	if err != nil {
		return nil, err
	}
	if has(unetSig, "text_embeds") || has(unetSig, "time_ids") {
		m.Family = SDXL
		return m, fmt.Errorf("model folder %s: the UNet takes text_embeds/time_ids (SDXL): %w", dir, ErrNotSupported)
	}
	if m.UNet, err = mapUNet(unetSig); err != nil {
		re := err.(*roleError)
		return nil, fail(filepath.Join("unet", "model.onnx"), re.tensor, "%s", re.problem)
	}
	decSig, err := sig("vae_decoder")
	if err != nil {
		return nil, err
	}
	if m.Decoder, err = mapDecoder(decSig); err != nil {
		re := err.(*roleError)
		return nil, fail(filepath.Join("vae_decoder", "model.onnx"), re.tensor, "%s", re.problem)
	}
	if _, ok := idx["vae_encoder"]; ok {
		if _, err := os.Stat(filepath.Join(dir, "vae_encoder", "model.onnx")); err == nil {
			encSig, err := sig("vae_encoder")
			if err != nil {
				return nil, err
			}
			enc, err := mapEncoder(encSig)
			if err != nil {
				re := err.(*roleError)
				return nil, fail(filepath.Join("vae_encoder", "model.onnx"), re.tensor, "%s", re.problem)
			}
			m.Encoder = &enc
		}
	}
	if err := m.findControlNet(dir, sig); err != nil {
		return nil, err
	}

	// Exports with symbolic sizes leave the text width open: take it from
	// the UNet's text input, else from the text encoder's config.
	if m.Text.Width == 0 {
		m.Text.Width = m.UNet.ContextWidth
	}
	if m.Text.Width == 0 {
		var cfg struct {
			HiddenSize int64 `json:"hidden_size"`
		}
		if data, err := os.ReadFile(filepath.Join(dir, "text_encoder", "config.json")); err == nil && json.Unmarshal(data, &cfg) == nil {
			m.Text.Width = cfg.HiddenSize
		}
	}
	if m.UNet.ContextWidth == 0 {
		m.UNet.ContextWidth = m.Text.Width
	}
	// Cross-checks between components.
	if m.Text.Width > 0 && m.UNet.ContextWidth > 0 && m.Text.Width != m.UNet.ContextWidth {
		return nil, fail(filepath.Join("unet", "model.onnx"), m.UNet.Context,
			"expects text width %d but the text encoder gives %d", m.UNet.ContextWidth, m.Text.Width)
	}
	switch m.Text.Width {
	case 768:
		m.Family = SD1
	case 1024:
		m.Family = SD2
	default:
		m.Family = Custom
	}

	if m.Tokenizer, err = tokenizer.Load(filepath.Join(dir, "tokenizer")); err != nil {
		return nil, fail("tokenizer", "", "%v", err)
	}
	if m.Text.Length > 0 && int(m.Text.Length) != m.Tokenizer.MaxLength() {
		if err := m.Tokenizer.SetMaxLength(int(m.Text.Length)); err != nil {
			return nil, fail("tokenizer", "", "%v", err)
		}
	}
	if m.Scheduler, err = schedule.LoadConfig(filepath.Join(dir, "scheduler", "scheduler_config.json")); err != nil {
		return nil, fail(filepath.Join("scheduler", "scheduler_config.json"), "", "%v", err)
	}
	if err := m.readVAEConfig(); err != nil {
		return nil, err
	}
	if data, err := os.ReadFile(filepath.Join(dir, "oneactor.json")); err == nil {
		var oa struct {
			Templates []string `json:"templates"`
		}
		if err := json.Unmarshal(data, &oa); err != nil {
			return nil, fail("oneactor.json", "", "not valid JSON: %v", err)
		}
		m.CaptionTemplates = oa.Templates
	}
	return m, nil
}

func has(s onnx.Signature, name string) bool {
	_, ok := s.Input(name)
	return ok
}

type vaeConfig struct {
	ScalingFactor    *float64     `json:"scaling_factor"`
	LatentChannels   int64        `json:"latent_channels"`
	BlockOutChannels []int64      `json:"block_out_channels"`
	SampleSize       int64        `json:"sample_size"`
	LatentRGBFactors [][3]float32 `json:"latent_rgb_factors"`
	LatentRGBBias    *[3]float32  `json:"latent_rgb_bias"`
}

// readVAEConfig takes the latent geometry from vae_decoder/config.json,
// with the family defaults diffusers uses when a key is absent, and checks
// it against the decoder's signature.
func (m *Model) readVAEConfig() error {
	var cfg vaeConfig
	file := filepath.Join("vae_decoder", "config.json")
	if data, err := os.ReadFile(filepath.Join(m.Dir, file)); err == nil {
		if err := json.Unmarshal(data, &cfg); err != nil {
			return &FolderError{Dir: m.Dir, File: file, Problem: "not valid JSON: " + err.Error()}
		}
	}
	m.ScalingFactor = 0.18215 // SD 1.x/2.x default
	if cfg.ScalingFactor != nil {
		m.ScalingFactor = *cfg.ScalingFactor
	}
	m.Factor = 8
	if n := len(cfg.BlockOutChannels); n > 0 {
		m.Factor = 1 << (n - 1)
	}
	m.LatentChannels = m.Decoder.LatentChannels
	if m.LatentChannels <= 0 {
		m.LatentChannels = cfg.LatentChannels
	}
	if m.LatentChannels <= 0 {
		m.LatentChannels = 4
	}
	if cfg.LatentChannels > 0 && cfg.LatentChannels != m.LatentChannels {
		return &FolderError{Dir: m.Dir, File: file, Problem: fmt.Sprintf("latent_channels %d, but the decoder takes %d", cfg.LatentChannels, m.LatentChannels)}
	}
	if m.UNet.SampleSize > 0 {
		m.SampleSize = m.UNet.SampleSize
	} else if data, err := os.ReadFile(filepath.Join(m.Dir, "unet", "config.json")); err == nil {
		var u struct {
			SampleSize int64 `json:"sample_size"`
		}
		if json.Unmarshal(data, &u) == nil {
			m.SampleSize = u.SampleSize
		}
	}
	m.LatentRGB = sd1LatentRGB
	if len(cfg.LatentRGBFactors) == int(m.LatentChannels) {
		m.LatentRGB = cfg.LatentRGBFactors
		if cfg.LatentRGBBias != nil {
			m.LatentRGBBias = *cfg.LatentRGBBias
		}
	} else if m.LatentChannels != 4 {
		m.LatentRGB = nil // previews fall back to the decoder
	}
	return nil
}

// findControlNet looks for a ControlNet (a model whose outputs are the
// residuals) and the residual-accepting UNet beside it, in any component
// folder model_index.json does not claim for the base pipeline.
func (m *Model) findControlNet(dir string, sig func(string) (onnx.Signature, error)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	base := []string{"text_encoder", "unet", "vae_decoder", "vae_encoder", "tokenizer", "scheduler", "safety_checker", "feature_extractor"}
	for _, e := range entries {
		if !e.IsDir() || slices.Contains(base, e.Name()) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "model.onnx")); err != nil {
			continue
		}
		s, err := sig(e.Name())
		if err != nil {
			return err
		}
		if cn, err := mapControlNet(s); err == nil {
			cn.Dir = e.Name()
			m.ControlNet = &cn
			continue
		}
		if u, err := mapUNet(s); err == nil && len(u.Residuals) > 0 {
			u.Dir = e.Name()
			m.ControlUNet = &u
		}
	}
	if (m.ControlNet == nil) != (m.ControlUNet == nil) {
		return &FolderError{Dir: dir, Problem: "a ControlNet needs both the ControlNet model and a UNet that accepts its residuals; only one was found"}
	}
	if m.ControlNet != nil && len(m.ControlNet.Residuals) != len(m.ControlUNet.Residuals) {
		return &FolderError{Dir: dir, File: filepath.Join(m.ControlNet.Dir, "model.onnx"),
			Problem: fmt.Sprintf("ControlNet gives %d residuals but the UNet in %s takes %d", len(m.ControlNet.Residuals), m.ControlUNet.Dir, len(m.ControlUNet.Residuals))}
	}
	return nil
}

// DefaultSize is the image size the model was trained at: the UNet's
// sample size times the VAE factor, else the family's usual size.
func (m *Model) DefaultSize() int {
	if m.SampleSize > 0 {
		return int(m.SampleSize * m.Factor)
	}
	if m.Family == SD2 {
		return 768
	}
	return 512
}

// Fingerprint identifies a model folder's content without hashing its
// weights: model_index.json, the scheduler config and every component's
// model.onnx bytes, plus the names and sizes of the weight files.
func (m *Model) Fingerprint() (string, error) {
	h := sha256.New()
	add := func(rel string) error {
		data, err := os.ReadFile(filepath.Join(m.Dir, rel))
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(data))
		h.Write(data)
		return nil
	}
	if err := add("model_index.json"); err != nil {
		return "", err
	}
	add(filepath.Join("scheduler", "scheduler_config.json"))
	entries, err := os.ReadDir(m.Dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(m.Dir, e.Name()))
		for _, f := range files {
			rel := filepath.Join(e.Name(), f.Name())
			switch {
			case f.Name() == "model.onnx":
				if err := add(rel); err != nil {
					return "", err
				}
			case f.Name() == onnx.WeightsPB || f.Name() == onnx.ModelOnnxData:
				if st, err := f.Info(); err == nil {
					fmt.Fprintf(h, "%s\x00%d\x00", rel, st.Size())
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
