package control

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"testing"
)

// rectImage is a w×h image of bg with a filled rectangle r of fg.
func rectImage(w, h int, r image.Rectangle, bg, fg color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	draw.Draw(img, r, image.NewUniform(fg), image.Point{}, draw.Src)
	return img
}

func edgeCount(g *image.Gray) int {
	n := 0
	for _, v := range g.Pix {
		if v != 0 {
			n++
		}
	}
	return n
}

// checkOutline verifies that the edges of rectangle r are a closed curve,
// one pixel thick, hugging the rectangle's border, with nothing elsewhere.
// Sides lie on the pixel row or column either side of the step; corners
// may be cut by one diagonal pixel, as in any Canny.
func checkOutline(t *testing.T, name string, e *image.Gray, r image.Rectangle) {
	t.Helper()
	b := e.Bounds()
	outer, inner := r.Inset(-1), r.Inset(2)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := image.Pt(x, y)
			if e.GrayAt(x, y).Y != 0 && (!p.In(outer) || p.In(inner)) {
				t.Fatalf("%s: edge pixel %v away from the rectangle %v", name, p, r)
			}
		}
	}
	// One pixel wide: each row through the sides crosses exactly two edge
	// pixels, each column through the top and bottom exactly two.
	for y := r.Min.Y + 2; y < r.Max.Y-2; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if e.GrayAt(x, y).Y != 0 {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%s: row %d has %d edge pixels, want 2", name, y, n)
		}
	}
	for x := r.Min.X + 2; x < r.Max.X-2; x++ {
		n := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if e.GrayAt(x, y).Y != 0 {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%s: column %d has %d edge pixels, want 2", name, x, n)
		}
	}
	// Closed: a 4-connected fill of the background from the image corner
	// must not leak inside.
	seen := make([]bool, b.Dx()*b.Dy())
	stack := []image.Point{b.Min}
	seen[0] = true
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p.In(inner) {
			t.Fatalf("%s: outline not closed: background reaches %v", name, p)
		}
		for _, d := range []image.Point{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			q := p.Add(d)
			if q.In(b) && !seen[q.Y*b.Dx()+q.X] && e.GrayAt(q.X, q.Y).Y == 0 {
				seen[q.Y*b.Dx()+q.X] = true
				stack = append(stack, q)
			}
		}
	}
}

func TestCannyRectangleOutline(t *testing.T) {
	r := image.Rect(40, 30, 100, 80)
	white, black := color.RGBA{255, 255, 255, 255}, color.RGBA{0, 0, 0, 255}
	for _, sigma := range []float64{0, 1, 2} {
		img := rectImage(128, 112, r, black, white)
		e := Canny(img, CannyOptions{Low: 100, High: 200, Sigma: sigma})
		if e.Bounds() != img.Bounds() {
			t.Fatalf("bounds %v", e.Bounds())
		}
		checkOutline(t, "white on black", e, r)
		// Grey input takes the one-channel path and must agree.
		gray := image.NewGray(img.Bounds())
		draw.Draw(gray, gray.Bounds(), img, image.Point{}, draw.Src)
		if eg := Canny(gray, CannyOptions{Low: 100, High: 200, Sigma: sigma}); string(eg.Pix) != string(e.Pix) {
			t.Errorf("sigma %v: grey and RGB inputs give different edges", sigma)
		}
	}
	// Red on green of equal brightness: found through the colour channels.
	e := Canny(rectImage(128, 112, r, color.RGBA{0, 120, 0, 255}, color.RGBA{120, 0, 0, 255}), DefaultCanny())
	checkOutline(t, "red on green", e, r)
	// A sub-image keeps working in its own coordinates.
	big := rectImage(200, 200, r.Add(image.Pt(50, 60)), black, white)
	sub := big.SubImage(image.Rect(50, 60, 178, 172))
	checkOutline(t, "sub-image", Canny(sub, DefaultCanny()), r)
}

// A step of contrast d has a Sobel magnitude of 4d along the sides; at a
// convex corner the inside pixel reaches |gx|+|gy| = 6d (L1) or 3√2·d
// (L2). The high threshold decides whether there is an edge at all.
func TestCannyThresholds(t *testing.T) {
	r := image.Rect(20, 20, 60, 60)
	img := rectImage(80, 80, r, color.Gray{50}, color.Gray{100}) // d = 50
	if n := edgeCount(Canny(img, CannyOptions{Low: 50, High: 310})); n != 0 {
		t.Errorf("L1 peak 300 with high 310: %d edge pixels", n)
	}
	// High 250 is passed only at the corners, and hysteresis carries the
	// edge along the sides (200 > low).
	checkOutline(t, "L1 high 250", Canny(img, CannyOptions{Low: 50, High: 250}), r)
	if n := edgeCount(Canny(img, CannyOptions{Low: 50, High: 250, L2: true})); n != 0 {
		t.Errorf("L2 peak 212 with high 250: %d edge pixels", n)
	}
	checkOutline(t, "L2 high 190", Canny(img, CannyOptions{Low: 50, High: 190, L2: true}), r)
	// Sides alone (low above 200) leave only corner fragments.
	if n := edgeCount(Canny(img, CannyOptions{Low: 205, High: 250})); n == 0 || n > 16 {
		t.Errorf("low 205: %d edge pixels, want a few at the corners", n)
	}
	// Swapped thresholds behave like ordered ones.
	a := Canny(img, CannyOptions{Low: 150, High: 50})
	if b := Canny(img, CannyOptions{Low: 50, High: 150}); string(a.Pix) != string(b.Pix) {
		t.Error("low > high not treated as swapped")
	}
}

// Hysteresis: a weak edge survives only where it touches a strong one.
func TestCannyHysteresis(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 100, 60))
	for y := 0; y < 60; y++ {
		for x := 0; x < 100; x++ {
			v := uint8(20)
			switch {
			case y >= 30 && x < 50:
				v = 100 // strong step: magnitude 320
			case y >= 30:
				v = 50 // weak step continuing it: magnitude 120
			}
			img.SetGray(x, y, color.Gray{v})
		}
	}
	// The strong half (x < 50) and the weak half (x > 50) of the row of
	// edges along y = 29/30.
	count := func(e *image.Gray, x0, x1 int) int {
		n := 0
		for x := x0; x < x1; x++ {
			for y := 27; y < 33; y++ {
				if e.GrayAt(x, y).Y != 0 {
					n++
				}
			}
		}
		return n
	}
	both := Canny(img, CannyOptions{Low: 100, High: 200})
	if count(both, 2, 45) != 43 || count(both, 55, 98) != 43 {
		t.Errorf("low 100: strong half %d, weak half %d edge pixels; want 43 each", count(both, 2, 45), count(both, 55, 98))
	}
	strongOnly := Canny(img, CannyOptions{Low: 130, High: 200})
	if count(strongOnly, 2, 45) != 43 || count(strongOnly, 55, 98) != 0 {
		t.Errorf("low 130: strong half %d, weak half %d", count(strongOnly, 2, 45), count(strongOnly, 55, 98))
	}
	// Without a strong seed the weak step alone is no edge.
	weak := image.NewGray(img.Rect)
	for i := range weak.Pix {
		weak.Pix[i] = 20
		if i/100 >= 30 {
			weak.Pix[i] = 50
		}
	}
	if n := edgeCount(Canny(weak, CannyOptions{Low: 100, High: 200})); n != 0 {
		t.Errorf("unseeded weak edge: %d pixels", n)
	}
}

func noiseImage(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func TestCannyNoise(t *testing.T) {
	img := noiseImage(128, 128, 7)
	total := float64(128 * 128)
	loose := float64(edgeCount(Canny(img, CannyOptions{Low: 20, High: 40, Sigma: 1}))) / total
	strict := float64(edgeCount(Canny(img, CannyOptions{Low: 600, High: 1200, Sigma: 1}))) / total
	if loose < 0.2 {
		t.Errorf("low thresholds mark only %.1f%% of a noise image", 100*loose)
	}
	if strict > 0.01 {
		t.Errorf("high thresholds still mark %.2f%% of a noise image", 100*strict)
	}
	// Blur is what tames noise: the same thresholds without it find more.
	raw := float64(edgeCount(Canny(img, CannyOptions{Low: 600, High: 1200}))) / total
	if raw <= strict {
		t.Errorf("unblurred %.2f%% ≤ blurred %.2f%%", 100*raw, 100*strict)
	}
}

func TestCannyDegenerateInputs(t *testing.T) {
	if e := Canny(image.NewRGBA(image.Rect(0, 0, 0, 5)), DefaultCanny()); len(e.Pix) != 0 {
		t.Error("empty image gave pixels")
	}
	one := image.NewGray(image.Rect(0, 0, 1, 1))
	one.Pix[0] = 255
	if n := edgeCount(Canny(one, CannyOptions{Sigma: 3})); n != 0 {
		t.Errorf("1×1 image: %d edges", n)
	}
	nan := CannyOptions{Low: nan(), High: nan(), Sigma: nan()}
	if e := Canny(rectImage(20, 20, image.Rect(5, 5, 15, 15), color.Black, color.White), nan); edgeCount(e) == 0 {
		t.Error("NaN options (read as 0) found no edges")
	}
}

func BenchmarkCanny512(b *testing.B) {
	img := noiseImage(512, 512, 3)
	draw.Draw(img, image.Rect(100, 100, 400, 300), image.NewUniform(color.White), image.Point{}, draw.Src)
	opt := DefaultCanny()
	b.ReportAllocs()
	for b.Loop() {
		Canny(img, opt)
	}
}

func nan() float64 { var z float64; return z / z }

// Every pixel layout reaches the same intensities: the fast paths for
// RGBA, NRGBA, YCbCr and Gray agree with the generic colour conversion.
func TestChannelPlanesLayouts(t *testing.T) {
	src := noiseImage(37, 23, 11)
	for i := 3; i < len(src.Pix); i += 8 {
		src.Pix[i] = 128 // half-transparent pixels exercise unpremultiplying
		for c := 1; c <= 3; c++ {
			src.Pix[i-c] = min(src.Pix[i-c], 128)
		}
	}
	nrgba := image.NewNRGBA(src.Bounds())
	draw.Draw(nrgba, nrgba.Bounds(), src, image.Point{}, draw.Src)
	ycc := image.NewYCbCr(src.Bounds(), image.YCbCrSubsampleRatio420)
	for y := 0; y < 23; y++ {
		for x := 0; x < 37; x++ {
			c := src.RGBAAt(x, y)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)] = yy
			ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = cb, cr
		}
	}
	gray := image.NewGray(src.Bounds())
	draw.Draw(gray, gray.Bounds(), src, image.Point{}, draw.Src)
	for _, img := range []image.Image{src, nrgba, ycc, gray, image.NewPaletted(src.Bounds(), color.Palette{color.White, color.Black})} {
		fast := channelPlanes(img)
		for c, p := range fast {
			for i, v := range p.v {
				x, y := i%37, i/37
				n := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				want := [3]uint8{n.R, n.G, n.B}[c]
				if len(fast) == 1 {
					want = img.(*image.Gray).GrayAt(x, y).Y
				}
				if v != float32(want) {
					t.Fatalf("%T channel %d at (%d,%d): %v, want %v", img, c, x, y, v, want)
				}
			}
		}
	}
}
