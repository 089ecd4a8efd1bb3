// Command genicon draws the app icon (icons/icon.png): one figure standing
// in a spotlight — "one actor" — on a rounded tile. Run from the repo root:
//
//	go run ./tools/genicon
//
// The PNG is committed; the app never runs this.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

const size = 512

func main() {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img.SetNRGBA(x, y, pixel(float64(x)+0.5, float64(y)+0.5))
		}
	}
	f, err := os.Create("icons/icon.png")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
}

// pixel shades one point with 4×4 supersampling for smooth edges.
func pixel(px, py float64) color.NRGBA {
	var r, g, b, a float64
	for sy := 0; sy < 4; sy++ {
		for sx := 0; sx < 4; sx++ {
			x := (px - 0.5 + (float64(sx)+0.5)/4) / size
			y := (py - 0.5 + (float64(sy)+0.5)/4) / size
			cr, cg, cb, ca := shade(x, y)
			r, g, b, a = r+cr*ca, g+cg*ca, b+cb*ca, a+ca
		}
	}
	if a == 0 {
		return color.NRGBA{}
	}
	return color.NRGBA{R: u8(r / a), G: u8(g / a), B: u8(b / a), A: u8(a / 16)}
}

func u8(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v*255)))) }

// shade returns the colour at (x, y) in unit coordinates.
func shade(x, y float64) (r, g, b, a float64) {
	if !inRoundedRect(x, y, 0.04, 0.96, 0.2) {
		return 0, 0, 0, 0
	}
	// Tile: deep indigo to teal, top to bottom.
	r, g, b = mix(0.16, 0.10, y), mix(0.13, 0.42, y), mix(0.38, 0.52, y)
	// Spotlight cone from the top centre and its pool on the floor.
	if y > 0.08 {
		half := 0.06 + 0.30*(y-0.08)
		if d := math.Abs(x - 0.5); d < half && y < 0.82 {
			k := 0.22 * (1 - d/half)
			r, g, b = r+k, g+k*0.95, b+k*0.7
		}
	}
	if e := sq((x-0.5)/0.30) + sq((y-0.80)/0.06); e < 1 {
		k := 0.35 * (1 - e)
		r, g, b = r+k, g+k*0.95, b+k*0.7
	}
	// The figure: head and a rounded body, warm white.
	fig := sq((x-0.5)/0.08)+sq((y-0.29)/0.08) < 1 ||
		inCapsule(x, y, 0.5, 0.52, 0.5, 0.70, 0.11) ||
		inCapsule(x, y, 0.42, 0.50, 0.31, 0.63, 0.035) ||
		inCapsule(x, y, 0.58, 0.50, 0.71, 0.37, 0.035)
	if fig {
		r, g, b = 0.99, 0.93, 0.80
	}
	return r, g, b, 1
}

func mix(a, b, t float64) float64 { return a + (b-a)*t }
func sq(v float64) float64        { return v * v }

func inRoundedRect(x, y, lo, hi, rad float64) bool {
	cx := math.Max(lo+rad, math.Min(hi-rad, x))
	cy := math.Max(lo+rad, math.Min(hi-rad, y))
	return sq(x-cx)+sq(y-cy) <= rad*rad && x >= lo && x <= hi && y >= lo && y <= hi
}

// inCapsule: distance from (x,y) to segment (ax,ay)-(bx,by) below rad.
func inCapsule(x, y, ax, ay, bx, by, rad float64) bool {
	dx, dy := bx-ax, by-ay
	t := math.Max(0, math.Min(1, ((x-ax)*dx+(y-ay)*dy)/(dx*dx+dy*dy)))
	return sq(x-(ax+t*dx))+sq(y-(ay+t*dy)) < rad*rad
}
