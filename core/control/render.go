package control

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/big"
)

// StickRadius is the limb half-width and joint radius in pixels for a w×h
// image: 4 px at 512, scaled with the shorter side, never below 1 px.
func StickRadius(w, h int) float64 {
	return math.Max(1.0, 4.0*float64(min(w, h))/512.0)
}

// Render draws the pose as the OpenPose ControlNet conditioning image at
// w×h (coordinates scaled from the pose canvas), following the ToyWorld
// tool's rule (tools/toyworld/openpose.py) bit for bit:
//
//   - black canvas; s = StickRadius(w, h);
//   - per person, limbs i = 0..16 in order, skipped when an end is missing
//     or the limb has length 0: every pixel whose centre p satisfies
//     (u/a)² + (v/s)² ≤ 1 (a = length/2, u and v the coordinates of p − m
//     along and across the limb, m its midpoint) is set to LimbColor(i);
//   - then present joints k = 0..17: every pixel whose centre is within s
//     of the joint is set to JointColor(k).
//
// People are drawn one after another (limbs then joints of each), as the
// ControlNet annotator draws multi-person poses. All arithmetic is float64
// in the reference's order, with explicit roundings so the compiler cannot
// fuse multiply-adds, which is what makes the output identical to numpy's.
func Render(p *Pose, w, h int) (*image.RGBA, error) {
	if err := checkCanvas(w, h); err != nil {
		return nil, fmt.Errorf("render pose: %w", err)
	}
	if err := checkCanvas(p.Width, p.Height); err != nil {
		return nil, fmt.Errorf("render pose: pose %w", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	s := StickRadius(w, h)
	sx, sy := float64(w)/float64(p.Width), float64(h)/float64(p.Height)
	for pi := range p.People {
		var kp [NumKeypoints][2]float64
		var present [NumKeypoints]bool
		for k, pt := range p.People[pi].Keypoints {
			kp[k] = [2]float64{pt.X * sx, pt.Y * sy}
			present[k] = pt.Present && finite(kp[k][0]) && finite(kp[k][1])
		}
		for i, l := range limbs {
			if present[l.A] && present[l.B] {
				fillEllipse(img, kp[l.A], kp[l.B], s, LimbColor(i))
			}
		}
		for k := range kp {
			if present[k] {
				fillDisc(img, kp[k], s, colors[k])
			}
		}
	}
	return img, nil
}

// fillEllipse paints the limb ellipse from a to b with minor semi-axis s.
func fillEllipse(img *image.RGBA, a, b [2]float64, s float64, c color.RGBA) {
	dx, dy := b[0]-a[0], b[1]-a[1]
	L := hypot(dx, dy)
	if L <= 0 {
		return
	}
	mx, my := (a[0]+b[0])/2, (a[1]+b[1])/2
	ux, uy := dx/L, dy/L
	half := L / 2
	// Axis-aligned half extents of the rotated ellipse bound the pixels
	// worth testing; the test itself decides.
	ex := math.Sqrt(half*half*ux*ux + s*s*uy*uy)
	ey := math.Sqrt(half*half*uy*uy + s*s*ux*ux)
	x0, x1, y0, y1, ok := pixelSpan(img.Rect, mx-ex, mx+ex, my-ey, my+ey)
	if !ok {
		return
	}
	for j := y0; j < y1; j++ {
		Y := (float64(j) + 0.5) - my
		row := img.Pix[j*img.Stride:]
		for i := x0; i < x1; i++ {
			X := (float64(i) + 0.5) - mx
			u := float64(X*ux) + float64(Y*uy)
			v := float64(-X*uy) + float64(Y*ux)
			qu, qv := u/half, v/s
			if float64(qu*qu)+float64(qv*qv) <= 1.0 {
				setPix(row, i, c)
			}
		}
	}
}

// fillDisc paints every pixel whose centre lies within r of p.
func fillDisc(img *image.RGBA, p [2]float64, r float64, c color.RGBA) {
	x0, x1, y0, y1, ok := pixelSpan(img.Rect, p[0]-r, p[0]+r, p[1]-r, p[1]+r)
	if !ok {
		return
	}
	r2 := r * r
	for j := y0; j < y1; j++ {
		Y := (float64(j) + 0.5) - p[1]
		row := img.Pix[j*img.Stride:]
		for i := x0; i < x1; i++ {
			X := (float64(i) + 0.5) - p[0]
			if float64(X*X)+float64(Y*Y) <= r2 {
				setPix(row, i, c)
			}
		}
	}
}

// pixelSpan converts a continuous box to the half-open pixel ranges whose
// centres may fall in it, widened by a pixel against rounding and clipped
// to the image.
func pixelSpan(r image.Rectangle, xlo, xhi, ylo, yhi float64) (x0, x1, y0, y1 int, ok bool) {
	if !(xhi >= -1 && ylo <= float64(r.Max.Y)+1 && yhi >= -1 && xlo <= float64(r.Max.X)+1) {
		return 0, 0, 0, 0, false // also rejects NaN
	}
	// Clamp before converting: float→int of a huge value is undefined.
	fx, fy := float64(r.Max.X)+2, float64(r.Max.Y)+2
	x0 = max(r.Min.X, int(math.Floor(clamp(xlo-0.5, -2, fx)))-1)
	x1 = min(r.Max.X, int(math.Ceil(clamp(xhi-0.5, -2, fx)))+2)
	y0 = max(r.Min.Y, int(math.Floor(clamp(ylo-0.5, -2, fy)))-1)
	y1 = min(r.Max.Y, int(math.Ceil(clamp(yhi-0.5, -2, fy)))+2)
	return x0, x1, y0, y1, x0 < x1 && y0 < y1
}

func setPix(row []uint8, i int, c color.RGBA) {
	q := row[4*i : 4*i+4 : 4*i+4]
	q[0], q[1], q[2], q[3] = c.R, c.G, c.B, 255
}

// hypot is the correctly rounded √(x²+y²). The reference uses numpy's
// hypot (C libm, correctly rounded in practice); Go's math.Hypot can be an
// ulp off, and one ulp in a limb's length can move a boundary pixel.
func hypot(x, y float64) float64 {
	const prec = 256 // x² and y² are exact in 106 bits; the rest is headroom
	bx := new(big.Float).SetPrec(prec).SetFloat64(x)
	by := new(big.Float).SetPrec(prec).SetFloat64(y)
	bx.Mul(bx, bx)
	by.Mul(by, by)
	bx.Add(bx, by)
	r, _ := bx.Sqrt(bx).Float64()
	return r
}
