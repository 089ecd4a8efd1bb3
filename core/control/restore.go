package control

import (
	"math"
	"sort"
)

// DefaultPosition is where a restored keypoint k goes on a w×h canvas: the
// standing preset's offset from the nearest present joints (nearest along
// the limbs), scaled to this person's size and flipped when the person
// faces away (left side on the image's left). Predictions from several
// equally near joints are averaged; the result is clamped to the canvas so
// the editor can always grab it.
func (pr *Person) DefaultPosition(k Keypoint, w, h int) (x, y float64) {
	ref := presetShapes[Standing]
	s := pr.bodyScale(ref, w, h)
	sx := pr.facing()
	anchors := pr.nearestPresent(k)
	if len(anchors) == 0 {
		// Nobody to be relative to: where the standing preset puts it.
		// NewPreset fails only for a canvas out of range; then the centre
		// of whatever canvas we were given is as good as anything.
		tmp, err := NewPreset(Standing, w, h)
		if err != nil {
			return float64(w) / 2, float64(h) / 2
		}
		return tmp.Keypoints[k].X, tmp.Keypoints[k].Y
	}
	for _, a := range anchors {
		pa := pr.Keypoints[a]
		x += pa.X + sx*s*(ref[k][0]-ref[a][0])
		y += pa.Y + s*(ref[k][1]-ref[a][1])
	}
	n := float64(len(anchors))
	return clamp(x/n, 0, float64(w)), clamp(y/n, 0, float64(h))
}

// bodyScale estimates body units → pixels from the present limbs (median
// of length ratios to the reference, robust to one odd limb), falling back
// to any pair of present joints, and to the preset's size on this canvas.
func (pr *Person) bodyScale(ref [NumKeypoints][2]float64, w, h int) float64 {
	var ratios []float64
	ratio := func(a, b Keypoint) {
		pa, pb := pr.Keypoints[a], pr.Keypoints[b]
		if !pa.Present || !pb.Present {
			return
		}
		dr := math.Hypot(ref[a][0]-ref[b][0], ref[a][1]-ref[b][1])
		dp := math.Hypot(pa.X-pb.X, pa.Y-pb.Y)
		if dr > 0 && dp > 0 {
			ratios = append(ratios, dp/dr)
		}
	}
	for _, l := range limbs {
		ratio(l.A, l.B)
	}
	if len(ratios) == 0 {
		for a := Keypoint(0); a < NumKeypoints; a++ {
			for b := a + 1; b < NumKeypoints; b++ {
				ratio(a, b)
			}
		}
	}
	if len(ratios) == 0 {
		return presetScale(presetShapes[Standing], w, h)
	}
	sort.Float64s(ratios)
	return ratios[len(ratios)/2]
}

// facing is +1 when the person shows its front (left keypoints to the
// image's right of the right ones, as in the presets), −1 when mirrored;
// decided by a vote of the present left/right pairs.
func (pr *Person) facing() float64 {
	vote := 0.0
	for k := Keypoint(0); k < NumKeypoints; k++ {
		m := k.Mirror()
		if m <= k { // each pair once, midline points never
			continue
		}
		r, l := pr.Keypoints[k], pr.Keypoints[m]
		if r.Present && l.Present {
			vote += math.Copysign(1, l.X-r.X)
		}
	}
	if vote < 0 {
		return -1
	}
	return 1
}

// nearestPresent returns the present keypoints with the fewest limbs
// between them and k (breadth-first over the skeleton).
func (pr *Person) nearestPresent(k Keypoint) []Keypoint {
	var seen [NumKeypoints]bool
	seen[k] = true
	frontier := []Keypoint{k}
	for len(frontier) > 0 {
		var next, found []Keypoint
		for _, a := range frontier {
			for _, b := range neighbours[a] {
				if seen[b] {
					continue
				}
				seen[b] = true
				if pr.Keypoints[b].Present {
					found = append(found, b)
				}
				next = append(next, b)
			}
		}
		if len(found) > 0 {
			return found
		}
		frontier = next
	}
	return nil
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
