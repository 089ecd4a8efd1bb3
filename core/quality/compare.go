package quality

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Figures are one benchmark run's results (the JSON the CLI writes).
type Figures struct {
	Model      string             `json:"model"`
	Noise      string             `json:"noise"` // "reference" or "engine"
	Generation *GenerationFigures `json:"generation,omitempty"`
	Diversity  *DiversityFigures  `json:"diversity,omitempty"`
	ControlNet *ControlFigures    `json:"controlnet,omitempty"`
	Subjects   *SubjectFigures    `json:"oneactor,omitempty"`
	Seconds    float64            `json:"seconds"`
}

// Reference is the PyTorch reference's figures on the same model
// (benchmark.py's figures.json and oneactor.py's oneactor_figures.json).
type Reference struct {
	Generation *GenerationFigures        `json:"generation"`
	Diversity  *DiversityFigures         `json:"diversity"`
	ControlNet *ControlFigures           `json:"controlnet"`
	OneActor   map[string]VariantFigures `json:"-"`
}

// ReadReference reads torch_figures.json and torch_oneactor_figures.json
// from dir; either may be missing (its comparisons are then skipped).
func ReadReference(dir string) (*Reference, error) {
	ref := &Reference{}
	if data, err := os.ReadFile(filepath.Join(dir, "torch_figures.json")); err == nil {
		if err := json.Unmarshal(data, ref); err != nil {
			return nil, fmt.Errorf("reference figures: %w", err)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	if data, err := os.ReadFile(filepath.Join(dir, "torch_oneactor_figures.json")); err == nil {
		var all map[string]json.RawMessage
		if err := json.Unmarshal(data, &all); err != nil {
			return nil, fmt.Errorf("reference OneActor figures: %w", err)
		}
		ref.OneActor = map[string]VariantFigures{}
		for _, k := range []string{"base", "oneactor", "oneactor_eta2_0", "textual_inversion"} {
			if raw, ok := all[k]; ok {
				var v VariantFigures
				if err := json.Unmarshal(raw, &v); err != nil {
					return nil, fmt.Errorf("reference OneActor figures, %s: %w", k, err)
				}
				ref.OneActor[k] = v
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	return ref, nil
}

// Check is one comparison: Go's figure against the reference's (within
// Tol) or against a bar.
type Check struct {
	Metric string
	Go     float64
	Ref    float64 // NaN when the check is against a bar only
	Bar    string  // the condition, e.g. "±3 pts of PyTorch" or "≤ 10"
	OK     bool
}

// Compare lists parity checks (Go vs reference, in percentage points, tol
// pts for the sampler's figures and subjectTol for OneActor's) and the
// benchmark's bars for the figures present in both.
func Compare(f *Figures, ref *Reference, bars Bars, tol, subjectTol float64) []Check {
	var out []Check
	parity := func(metric string, g, r, t float64) {
		out = append(out, Check{Metric: metric, Go: 100 * g, Ref: 100 * r, Bar: fmt.Sprintf("±%g pts of PyTorch", t),
			OK: abs(100*g-100*r) <= t})
	}
	bar := func(metric string, g float64, cond string, ok bool) {
		out = append(out, Check{Metric: metric, Go: g, Ref: math.NaN(), Bar: cond, OK: ok})
	}
	if g := f.Generation; g != nil {
		// Parity needs the same cases: the reference has no per-case figures.
		if ref != nil && ref.Generation != nil && ref.Generation.N == g.N {
			parity("scene fidelity %", g.SceneFidelity, ref.Generation.SceneFidelity, tol)
			for _, a := range sortedKeys(g.AttributeHonour) {
				if g.AttributeHonour[a] != nil && ref.Generation.AttributeHonour[a] != nil {
					parity("attribute honour % ("+a+")", *g.AttributeHonour[a], *ref.Generation.AttributeHonour[a], tol)
				}
			}
		}
		bar("scene fidelity %", 100*g.SceneFidelity, fmt.Sprintf("≥ %g", 100*bars.SceneFidelity), g.SceneFidelity >= bars.SceneFidelity)
	}
	if d := f.Diversity; d != nil {
		if ref != nil && ref.Diversity != nil && d.Seeds > 0 && ref.Diversity.Seeds == d.Seeds {
			// The reference's mean over the same prompts.
			sum, n := 0, 0
			for p := range d.PerPrompt {
				if c, ok := ref.Diversity.PerPrompt[p]; ok {
					sum, n = sum+c, n+1
				}
			}
			if n == len(d.PerPrompt) && n > 0 {
				parity("distinct identities % of seeds (mean)", d.Mean/float64(d.Seeds), float64(sum)/float64(n)/float64(d.Seeds), tol)
			}
		}
		bar("distinct identities over seeds (min)", float64(d.Min), fmt.Sprintf("≥ %d", bars.DiversityMin), d.Min >= bars.DiversityMin)
	}
	if c := f.ControlNet; c != nil {
		if ref != nil && ref.ControlNet != nil {
			out = append(out, Check{Metric: "pose error median % of width", Go: c.PoseErrorMedianPct, Ref: ref.ControlNet.PoseErrorMedianPct,
				Bar: fmt.Sprintf("≤ %g (bar)", bars.PoseErrorMedianPct), OK: c.PoseErrorMedianPct <= bars.PoseErrorMedianPct})
		} else {
			bar("pose error median % of width", c.PoseErrorMedianPct, fmt.Sprintf("≤ %g", bars.PoseErrorMedianPct), c.PoseErrorMedianPct <= bars.PoseErrorMedianPct)
		}
	}
	if s := f.Subjects; s != nil {
		if ref != nil {
			for _, v := range []struct {
				key string
				g   VariantFigures
			}{{"base", s.Base}, {"oneactor", s.OneActor}, {"oneactor_eta2_0", s.Eta2Zero}, {"textual_inversion", s.Inversion}} {
				if r, ok := ref.OneActor[v.key]; ok {
					parity("identity consistency % ("+v.key+")", v.g.Consistency, r.Consistency, subjectTol)
				}
			}
		}
		bar("identity consistency % (OneActor)", 100*s.OneActor.Consistency, fmt.Sprintf("≥ %g", 100*bars.Consistency), s.OneActor.Consistency >= bars.Consistency)
		bar("scene fidelity % (OneActor)", 100*s.OneActor.Scene, fmt.Sprintf("≥ %g", 100*bars.SceneFidelity), s.OneActor.Scene >= bars.SceneFidelity)
		beats := s.OneActor.Consistency > s.Base.Consistency && s.OneActor.Consistency > s.Inversion.Consistency &&
			s.OneActor.Scene >= min(s.Base.Scene, s.Inversion.Scene)
		bar("OneActor beats base and inversion (consistency, equal scene)", 100*s.OneActor.Consistency, "> both", beats)
		// Sampling cost is not checked here: the base prompt is drawn once up
		// front and the variants later, so background load biases the ratio;
		// bench generate --guidance times the modes taking turns.
	}
	return out
}

// WriteChecks prints the checks as a table and returns how many failed.
func WriteChecks(w io.Writer, checks []Check) int {
	failed := 0
	fmt.Fprintf(w, "%-58s %9s %9s  %-22s %s\n", "metric", "Go", "PyTorch", "condition", "")
	for _, c := range checks {
		ref := "-"
		if !math.IsNaN(c.Ref) {
			ref = fmt.Sprintf("%.2f", c.Ref)
		}
		mark := "ok"
		if !c.OK {
			mark = "MISSED"
			failed++
		}
		fmt.Fprintf(w, "%-58s %9.2f %9s  %-22s %s\n", c.Metric, c.Go, ref, c.Bar, mark)
	}
	return failed
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
