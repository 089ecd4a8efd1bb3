package control

import "math"

// Hit is a keypoint found under the pointer.
type Hit struct {
	Person int
	Joint  Keypoint
	Dist   float64 // canvas pixels from the query point
}

// HitTest returns the present keypoint nearest to (x, y) within radius
// canvas pixels. Where two are equally near, the later person wins because
// it is drawn on top, so the user grabs what they see.
func (p *Pose) HitTest(x, y, radius float64) (Hit, bool) {
	best, found := Hit{Dist: math.Inf(1)}, false
	for i := range p.People {
		for k, pt := range p.People[i].Keypoints {
			if !pt.Present {
				continue
			}
			d := math.Hypot(pt.X-x, pt.Y-y)
			if d <= radius && d <= best.Dist {
				best, found = Hit{Person: i, Joint: Keypoint(k), Dist: d}, true
			}
		}
	}
	return best, found
}
