package control

import (
	"image"
	"image/color"
)

// plane is one image channel as float32 intensities 0..255, row-major.
type plane struct {
	w, h int
	v    []float32
}

func newPlane(w, h int) plane { return plane{w, h, make([]float32, w*h)} }

// channelPlanes splits img into intensity planes on OpenCV's 0–255 scale:
// one for grey images, three (R, G, B) otherwise, so edges between
// colours of equal brightness are still found. Colour values are taken
// unpremultiplied, as a decoder hands them to OpenCV (alpha ignored).
func channelPlanes(img image.Image) []plane {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if g, ok := img.(*image.Gray); ok {
		p := newPlane(w, h)
		for y := 0; y < h; y++ {
			row := g.Pix[(y+b.Min.Y-g.Rect.Min.Y)*g.Stride+(b.Min.X-g.Rect.Min.X):]
			for x := 0; x < w; x++ {
				p.v[y*w+x] = float32(row[x])
			}
		}
		return []plane{p}
	}
	ps := []plane{newPlane(w, h), newPlane(w, h), newPlane(w, h)}
	set := func(i int, r, g, bl uint8) {
		ps[0].v[i], ps[1].v[i], ps[2].v[i] = float32(r), float32(g), float32(bl)
	}
	switch m := img.(type) {
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				set(y*w+x, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				q := row[4*x : 4*x+4 : 4*x+4]
				if q[3] == 255 { // opaque: premultiplied equals straight
					set(y*w+x, q[0], q[1], q[2])
				} else {
					c := color.NRGBAModel.Convert(color.RGBA{q[0], q[1], q[2], q[3]}).(color.NRGBA)
					set(y*w+x, c.R, c.G, c.B)
				}
			}
		}
	case *image.YCbCr: // what JPEG photos decode to
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				set(y*w+x, r, g, bl)
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				set(y*w+x, c.R, c.G, c.B)
			}
		}
	}
	return ps
}
