package control

import (
	"image"
	"math"
)

// CannyOptions configures Canny. Thresholds are on OpenCV's scale (the
// magnitude of a 3×3 Sobel gradient of 0–255 intensities), so values
// people know from cv2.Canny (100/200 for the SD canny ControlNets) mean
// the same here.
type CannyOptions struct {
	// Low and High are the hysteresis thresholds: pixels above High start
	// an edge, pixels above Low continue one. Swapped when Low > High, as
	// OpenCV does; negative or NaN counts as 0.
	Low, High float64
	// Sigma is the Gaussian blur (pixels) applied before the gradient,
	// suppressing sensor noise and JPEG blocks; 0 skips it, which is
	// exactly cv2.Canny's pipeline. Capped at 20.
	Sigma float64
	// L2 uses √(gx²+gy²) as the magnitude instead of |gx|+|gy| (OpenCV's
	// L2gradient).
	L2 bool
}

// DefaultCanny is what the conditioning panel starts with: the thresholds
// the SD 1.5 canny ControlNet is usually driven with, and a light blur so
// photos do not turn into texture.
func DefaultCanny() CannyOptions { return CannyOptions{Low: 100, High: 200, Sigma: 1} }

// tan(22.5°) and tan(67.5°): the borders between the four gradient
// directions non-maximum suppression distinguishes.
const (
	tan22 = 0.41421356237309503
	tan67 = 2.414213562373095
)

// Edge-map states during detection.
const (
	notEdge uint8 = iota
	weakEdge
	strongEdge
)

// Canny finds edges in img: Gaussian blur, 3×3 Sobel gradients (on a
// colour image per channel, keeping the strongest channel at each pixel,
// like OpenCV), non-maximum suppression along the quantised gradient
// direction, and hysteresis with the two thresholds. The result has the
// image's size with edges 255 and the rest 0, edges one pixel wide.
func Canny(img image.Image, opt CannyOptions) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	if w == 0 || h == 0 {
		return out
	}
	low, high := sanitizeThreshold(opt.Low), sanitizeThreshold(opt.High)
	if low > high {
		low, high = high, low
	}
	sigma := opt.Sigma
	if !(sigma > 0) { // also NaN
		sigma = 0
	}
	sigma = math.Min(sigma, maxSigma)

	g := newGradient(w, h)
	for _, p := range channelPlanes(img) {
		blur(p, sigma)
		g.add(p, opt.L2)
	}
	state := g.suppress(float32(low), float32(high))
	hysteresis(state, w, h, out.Pix)
	return out
}

func sanitizeThreshold(v float64) float64 {
	if !(v > 0) {
		return 0
	}
	return v
}

// gradient holds, per pixel, the strongest channel's Sobel derivatives and
// magnitude.
type gradient struct {
	w, h   int
	gx, gy []float32
	mag    []float32
}

func newGradient(w, h int) *gradient {
	n := w * h
	return &gradient{w, h, make([]float32, n), make([]float32, n), make([]float32, n)}
}

// add computes the 3×3 Sobel derivatives of p (border pixels replicated,
// as OpenCV's Canny does) and keeps them wherever this channel's magnitude
// beats the channels seen so far.
func (g *gradient) add(p plane, l2 bool) {
	w, h := g.w, g.h
	for y := 0; y < h; y++ {
		up := p.v[max(y-1, 0)*w:]
		mid := p.v[y*w:]
		dn := p.v[min(y+1, h-1)*w:]
		for x := 0; x < w; x++ {
			l, r := max(x-1, 0), min(x+1, w-1)
			gx := (up[r] + 2*mid[r] + dn[r]) - (up[l] + 2*mid[l] + dn[l])
			gy := (dn[l] + 2*dn[x] + dn[r]) - (up[l] + 2*up[x] + up[r])
			var m float32
			if l2 {
				m = float32(math.Sqrt(float64(gx*gx + gy*gy)))
			} else {
				m = abs32(gx) + abs32(gy)
			}
			i := y*w + x
			if m > g.mag[i] {
				g.mag[i], g.gx[i], g.gy[i] = m, gx, gy
			}
		}
	}
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

// at is the magnitude at (x, y), 0 outside the image.
func (g *gradient) at(x, y int) float32 {
	if x < 0 || y < 0 || x >= g.w || y >= g.h {
		return 0
	}
	return g.mag[y*g.w+x]
}

// suppress keeps pixels above low that are local maxima across the edge
// (along the gradient, quantised to 0°, 45°, 90°, 135°), marking those
// above high strong. Ties along a straight edge are broken towards one
// side (strictly greater than the previous neighbour, at least the next),
// as OpenCV does, so a step edge yields one pixel, not two.
func (g *gradient) suppress(low, high float32) []uint8 {
	state := make([]uint8, g.w*g.h)
	for y := 0; y < g.h; y++ {
		for x := 0; x < g.w; x++ {
			i := y*g.w + x
			m := g.mag[i]
			if m <= low {
				continue
			}
			ax, ay := abs32(g.gx[i]), abs32(g.gy[i])
			var peak bool
			switch {
			case ay <= ax*tan22: // gradient horizontal: edge runs vertically
				peak = m > g.at(x-1, y) && m >= g.at(x+1, y)
			case ay > ax*tan67: // gradient vertical
				peak = m > g.at(x, y-1) && m >= g.at(x, y+1)
			case (g.gx[i] > 0) == (g.gy[i] > 0): // down-right / up-left
				peak = m > g.at(x-1, y-1) && m >= g.at(x+1, y+1)
			default: // down-left / up-right
				peak = m > g.at(x+1, y-1) && m >= g.at(x-1, y+1)
			}
			if !peak {
				continue
			}
			if m > high {
				state[i] = strongEdge
			} else {
				state[i] = weakEdge
			}
		}
	}
	return state
}

// hysteresis grows edges from strong pixels through 8-connected weak ones
// and writes 255 for every reached pixel into pix (w×h, stride w).
func hysteresis(state []uint8, w, h int, pix []uint8) {
	var stack []int
	for i, s := range state {
		if s == strongEdge {
			stack = append(stack, i)
			pix[i] = 255
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := i%w, i/w
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				nx, ny := x+dx, y+dy
				if nx < 0 || ny < 0 || nx >= w || ny >= h {
					continue
				}
				j := ny*w + nx
				if state[j] == weakEdge && pix[j] == 0 {
					pix[j] = 255
					stack = append(stack, j)
				}
			}
		}
	}
}
