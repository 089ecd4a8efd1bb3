package control

import (
	"fmt"
	"math"
)

// Preset names a built-in body pose for the editor.
type Preset string

// The built-in presets.
const (
	Standing Preset = "standing"
	Walking  Preset = "walking"
	Sitting  Preset = "sitting"
	ArmsUp   Preset = "arms up"
)

// Presets lists the built-in presets in menu order.
func Presets() []Preset { return []Preset{Standing, Walking, Sitting, ArmsUp} }

// presetShapes are front-facing bodies in "body units": x centred on the
// spine (the subject's right at negative x, i.e. image left), y down, a
// standing figure spanning about 0..1 from the top of the head to the
// ankles. Proportions follow the usual 7½-heads figure.
var presetShapes = map[Preset][NumKeypoints][2]float64{
	Standing: {
		{0, 0.10}, {0, 0.20},
		{-0.11, 0.20}, {-0.14, 0.36}, {-0.15, 0.51},
		{0.11, 0.20}, {0.14, 0.36}, {0.15, 0.51},
		{-0.07, 0.50}, {-0.07, 0.74}, {-0.07, 0.97},
		{0.07, 0.50}, {0.07, 0.74}, {0.07, 0.97},
		{-0.025, 0.08}, {0.025, 0.08}, {-0.055, 0.09}, {0.055, 0.09},
	},
	Walking: {
		{0, 0.10}, {0, 0.20},
		{-0.11, 0.20}, {-0.12, 0.36}, {-0.08, 0.50},
		{0.11, 0.20}, {0.16, 0.35}, {0.21, 0.47},
		{-0.07, 0.50}, {-0.10, 0.73}, {-0.15, 0.96},
		{0.07, 0.50}, {0.08, 0.74}, {0.12, 0.97},
		{-0.025, 0.08}, {0.025, 0.08}, {-0.055, 0.09}, {0.055, 0.09},
	},
	Sitting: {
		{0, 0.10}, {0, 0.20},
		{-0.11, 0.20}, {-0.14, 0.36}, {-0.09, 0.49},
		{0.11, 0.20}, {0.14, 0.36}, {0.09, 0.49},
		{-0.08, 0.52}, {-0.12, 0.62}, {-0.12, 0.86},
		{0.08, 0.52}, {0.12, 0.62}, {0.12, 0.86},
		{-0.025, 0.08}, {0.025, 0.08}, {-0.055, 0.09}, {0.055, 0.09},
	},
	ArmsUp: {
		{0, 0.10}, {0, 0.20},
		{-0.11, 0.20}, {-0.16, 0.06}, {-0.15, -0.09},
		{0.11, 0.20}, {0.16, 0.06}, {0.15, -0.09},
		{-0.07, 0.50}, {-0.07, 0.74}, {-0.07, 0.97},
		{0.07, 0.50}, {0.07, 0.74}, {0.07, 0.97},
		{-0.025, 0.08}, {0.025, 0.08}, {-0.055, 0.09}, {0.055, 0.09},
	},
}

// presetFill is the fraction of the canvas a preset's bounding box spans
// along its tighter side, leaving room for the joint circles and for
// dragging.
const presetFill = 0.8

// NewPreset returns the preset body scaled to fill a w×h canvas (80% of
// the tighter side) and centred on it.
func NewPreset(name Preset, w, h int) (Person, error) {
	if err := checkCanvas(w, h); err != nil {
		return Person{}, err
	}
	shape, ok := presetShapes[name]
	if !ok {
		return Person{}, fmt.Errorf("unknown pose preset %q", string(name))
	}
	minX, minY, maxX, maxY := bounds(shape)
	s := presetScale(shape, w, h)
	cx, cy := float64(w)/2, float64(h)/2
	mx, my := (minX+maxX)/2, (minY+maxY)/2
	var pr Person
	for k, q := range shape {
		pr.Keypoints[k] = Point{X: cx + s*(q[0]-mx), Y: cy + s*(q[1]-my), Present: true}
	}
	return pr, nil
}

// presetScale is the body-unit → pixel factor that fits shape in w×h.
func presetScale(shape [NumKeypoints][2]float64, w, h int) float64 {
	minX, minY, maxX, maxY := bounds(shape)
	return presetFill * math.Min(float64(w)/(maxX-minX), float64(h)/(maxY-minY))
}

func bounds(shape [NumKeypoints][2]float64) (minX, minY, maxX, maxY float64) {
	minX, minY, maxX, maxY = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, q := range shape {
		minX, maxX = math.Min(minX, q[0]), math.Max(maxX, q[0])
		minY, maxY = math.Min(minY, q[1]), math.Max(maxY, q[1])
	}
	return
}

// AddPerson appends a preset body and returns its index. A preset body is
// narrow (about a quarter of a square canvas), so it is slid sideways to
// where it overlaps the people already there the least.
func (p *Pose) AddPerson(name Preset) (int, error) {
	if len(p.People) >= MaxPeople {
		return 0, fmt.Errorf("a pose holds at most %d people", MaxPeople)
	}
	pr, err := NewPreset(name, p.Width, p.Height)
	if err != nil {
		return 0, err
	}
	if len(p.People) > 0 {
		pr.Translate(p.freestX(&pr)-float64(p.Width)/2, 0)
	}
	p.People = append(p.People, pr)
	return len(p.People) - 1, nil
}

// freestX picks, among evenly spaced candidate centres, the one farthest
// from every existing person's horizontal centre.
func (p *Pose) freestX(pr *Person) float64 {
	const candidates = 9
	best, bestGap := float64(p.Width)/2, -1.0
	for c := 0; c < candidates; c++ {
		// Candidates from the middle outwards, so ties prefer the centre.
		off := float64((c+1)/2) * float64(p.Width) / (candidates + 1)
		if c%2 == 1 {
			off = -off
		}
		x := float64(p.Width)/2 + off
		gap := math.Inf(1)
		for i := range p.People {
			lo, hi, ok := p.People[i].xRange()
			if ok {
				gap = math.Min(gap, math.Abs(x-(lo+hi)/2))
			}
		}
		if gap > bestGap {
			best, bestGap = x, gap
		}
	}
	return best
}

// ApplyPreset gives person i the preset's body at the person's current size
// and place: scaled by the person's measured body size and aligned on the
// neck (or, without a neck, on the middle of the present points). Hand and
// face points belonged to the old body and would float in the wrong place,
// so they are dropped. A person with no present points gets the preset as
// NewPreset places it.
func (p *Pose) ApplyPreset(i int, name Preset) error {
	pr, err := p.person(i)
	if err != nil {
		return err
	}
	fresh, err := NewPreset(name, p.Width, p.Height)
	if err != nil {
		return err
	}
	if pr.PresentCount() > 0 {
		s := pr.bodyScale(presetShapes[Standing], p.Width, p.Height)
		for k, q := range presetShapes[name] {
			fresh.Keypoints[k] = Point{X: s * q[0], Y: s * q[1], Present: true}
		}
		if n := pr.Keypoints[Neck]; n.Present {
			fresh.Translate(n.X-fresh.Keypoints[Neck].X, n.Y-fresh.Keypoints[Neck].Y)
		} else {
			ax, ay := pr.boxCentre()
			bx, by := fresh.boxCentre()
			fresh.Translate(ax-bx, ay-by)
		}
	}
	fresh.extra = pr.extra
	*pr = fresh
	return nil
}

// boxCentre is the middle of the present points' bounding box.
func (pr *Person) boxCentre() (x, y float64) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, pt := range pr.Keypoints {
		if pt.Present {
			minX, maxX = math.Min(minX, pt.X), math.Max(maxX, pt.X)
			minY, maxY = math.Min(minY, pt.Y), math.Max(maxY, pt.Y)
		}
	}
	return (minX + maxX) / 2, (minY + maxY) / 2
}
