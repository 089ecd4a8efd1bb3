package imageio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Recipe is a generation's settings in the AUTOMATIC1111 "parameters"
// format, the de-facto standard other tools read:
//
//	a photo of a mug
//	Negative prompt: blurry
//	Steps: 30, Sampler: Euler, CFG scale: 7.5, Seed: 42, Size: 512x512, Model hash: 1a2b3c4d, Model: toyworld, …
//
// Fields beyond the standard ones (ours, like the OneActor subject, or a
// foreign file's) are kept in Extra, in order.
type Recipe struct {
	Prompt         string
	NegativePrompt string
	Steps          int
	Sampler        string // A1111 sampler name, e.g. "Euler a", "DPM++ 2M Karras"
	CFGScale       float64
	Seed           int64
	Width, Height  int
	ModelHash      string
	Model          string
	// DenoisingStrength is img2img's strength; 0 means txt2img.
	DenoisingStrength float64
	Extra             []Field
}

// Field is one "Key: value" entry of the settings line.
type Field struct {
	Key, Value string
}

// Get returns the value of an Extra field.
func (r Recipe) Get(key string) (string, bool) {
	for _, f := range r.Extra {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// validKey is what A1111's parser accepts as a key.
var validKey = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_ \-/]+$`)

// Format renders the recipe as A1111 parameters text. It fails only for
// Extra keys A1111's parser could not read back (e.g. with a colon).
func (r Recipe) Format() (string, error) {
	fields := []Field{
		{"Steps", strconv.Itoa(r.Steps)},
		{"Sampler", r.Sampler},
		{"CFG scale", formatFloat(r.CFGScale)},
		{"Seed", strconv.FormatInt(r.Seed, 10)},
		{"Size", fmt.Sprintf("%dx%d", r.Width, r.Height)},
	}
	if r.ModelHash != "" {
		fields = append(fields, Field{"Model hash", r.ModelHash})
	}
	if r.Model != "" {
		fields = append(fields, Field{"Model", r.Model})
	}
	if r.DenoisingStrength != 0 {
		fields = append(fields, Field{"Denoising strength", formatFloat(r.DenoisingStrength)})
	}
	var line []string
	for _, f := range append(fields, r.Extra...) {
		if !validKey.MatchString(f.Key) {
			return "", fmt.Errorf("recipe field name %q is not readable back (letters, digits, space, - and / only)", f.Key)
		}
		line = append(line, f.Key+": "+quote(f.Value))
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(r.Prompt))
	b.WriteString("\n")
	if neg := strings.TrimSpace(r.NegativePrompt); neg != "" {
		b.WriteString("Negative prompt: " + neg + "\n")
	}
	b.WriteString(strings.Join(line, ", "))
	return b.String(), nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// quote is A1111's rule (JSON-quote values with a comma, newline or colon),
// extended to values the parser would otherwise change: a leading quote
// or surrounding spaces.
func quote(v string) string {
	if !strings.ContainsAny(v, ",\n:") && !strings.HasPrefix(v, `"`) && strings.TrimSpace(v) == v {
		return v
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// paramRe is A1111's re_param, with Python's Unicode \w spelled out.
var paramRe = regexp.MustCompile(`\s*([\p{L}\p{N}_][\p{L}\p{N}_ \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`)

var sizeRe = regexp.MustCompile(`^(\d+)x(\d+)$`)

// ParseRecipe reads A1111 parameters text, ours or another tool's, as
// A1111's parse_generation_parameters does: the last line is the settings
// line if it holds at least three "Key: value" pairs; lines before it are
// the prompt, up to a line starting "Negative prompt:", after which they
// are the negative prompt. Unknown fields, and known ones whose values do
// not parse as numbers, land in Extra; nothing is an error.
func ParseRecipe(text string) Recipe {
	var r Recipe
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")), "\n")
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	if len(paramRe.FindAllString(last, -1)) < 3 {
		lines = append(lines, last)
		last = ""
	}
	var prompt, neg []string
	inNeg := false
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(l, "Negative prompt:"); ok {
			inNeg = true
			l = strings.TrimSpace(rest)
		}
		if inNeg {
			neg = append(neg, l)
		} else {
			prompt = append(prompt, l)
		}
	}
	r.Prompt = strings.Join(prompt, "\n")
	r.NegativePrompt = strings.Join(neg, "\n")
	for _, m := range paramRe.FindAllStringSubmatch(last, -1) {
		key, val := m[1], m[2]
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			var s string
			if json.Unmarshal([]byte(val), &s) == nil {
				val = s
			}
		}
		if !r.setKnown(key, val) {
			r.Extra = append(r.Extra, Field{key, val})
		}
	}
	return r
}

// setKnown stores a standard field; false means keep it in Extra.
func (r *Recipe) setKnown(key, val string) bool {
	var err error
	switch key {
	case "Steps":
		r.Steps, err = strconv.Atoi(val)
	case "Sampler":
		r.Sampler = val
	case "CFG scale":
		r.CFGScale, err = strconv.ParseFloat(val, 64)
	case "Seed":
		r.Seed, err = strconv.ParseInt(val, 10, 64)
	case "Size":
		m := sizeRe.FindStringSubmatch(val)
		if m == nil {
			return false
		}
		r.Width, _ = strconv.Atoi(m[1])
		r.Height, _ = strconv.Atoi(m[2])
	case "Model hash":
		r.ModelHash = val
	case "Model":
		r.Model = val
	case "Denoising strength":
		r.DenoisingStrength, err = strconv.ParseFloat(val, 64)
	default:
		return false
	}
	return err == nil
}
