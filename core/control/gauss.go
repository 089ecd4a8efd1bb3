package control

import "math"

// maxSigma bounds the blur: beyond it edges are gone anyway, and the
// kernel would grow without limit.
const maxSigma = 20

// gaussianKernel is the normalised 1-D kernel for sigma, radius ⌈3σ⌉ as
// OpenCV picks for float images.
func gaussianKernel(sigma float64) []float32 {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	sum := 0.0
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	out := make([]float32, len(k))
	for i := range k {
		out[i] = float32(k[i] / sum)
	}
	return out
}

// reflect101 maps an index outside 0..n-1 into it the way OpenCV's
// default border does (… 2 1 | 0 1 2 … n-1 | n-2 …), so blurring does not
// darken the image's rim into a fake edge.
func reflect101(i, n int) int {
	if n == 1 {
		return 0
	}
	for i < 0 || i >= n {
		if i < 0 {
			i = -i
		}
		if i >= n {
			i = 2*(n-1) - i
		}
	}
	return i
}

// blur applies a separable Gaussian in place; sigma ≤ 0 leaves p as is.
func blur(p plane, sigma float64) {
	if sigma <= 0 || p.w == 0 || p.h == 0 {
		return
	}
	k := gaussianKernel(sigma)
	r := len(k) / 2
	tmp := make([]float32, len(p.v))
	// Rows.
	for y := 0; y < p.h; y++ {
		row := p.v[y*p.w : (y+1)*p.w]
		out := tmp[y*p.w : (y+1)*p.w]
		for x := 0; x < p.w; x++ {
			var s float32
			if x >= r && x+r < p.w { // interior: no border arithmetic
				for i, kv := range k {
					s += kv * row[x-r+i]
				}
			} else {
				for i, kv := range k {
					s += kv * row[reflect101(x-r+i, p.w)]
				}
			}
			out[x] = s
		}
	}
	// Columns, back into p.
	for y := 0; y < p.h; y++ {
		out := p.v[y*p.w : (y+1)*p.w]
		for x := range out {
			out[x] = 0
		}
		for i, kv := range k {
			src := tmp[reflect101(y-r+i, p.h)*p.w:]
			for x := range out {
				out[x] += kv * src[x]
			}
		}
	}
}
