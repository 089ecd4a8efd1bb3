package control

import (
	"image"
	"image/color"
	"testing"
)

func TestPoseTensorMatchesRender(t *testing.T) {
	g := loadGoldenPoses(t)[0]
	want := loadPNG(t, g.Images["32"])
	x, err := PoseTensor(g.pose32(t), 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 3*32*32 {
		t.Fatalf("len %d, want %d", len(x), 3*32*32)
	}
	lit := 0
	for y := 0; y < 32; y++ {
		for xx := 0; xx < 32; xx++ {
			r, gg, b, _ := want.At(xx, y).RGBA()
			for c, v := range []uint32{r >> 8, gg >> 8, b >> 8} {
				got := x[c*32*32+y*32+xx]
				if got != float32(v)/255 {
					t.Fatalf("channel %d at (%d,%d): %v, want %v/255", c, xx, y, got, v)
				}
				if got > 0 {
					lit++
				}
			}
		}
	}
	if lit == 0 {
		t.Fatal("golden image is black")
	}
	if _, err := PoseTensor(g.pose32(t), 0, 32); err == nil {
		t.Error("zero width accepted")
	}
}

func TestImageTensorLayouts(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	g.SetGray(2, 1, color.Gray{255})
	x := ImageTensor(g)
	for c := 0; c < 3; c++ {
		if x[c*6+5] != 1 || x[c*6+4] != 0 {
			t.Errorf("grey channel %d: %v", c, x[c*6:c*6+6])
		}
	}
	n := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	n.SetNRGBA(1, 0, color.NRGBA{51, 102, 255, 128}) // straight colour, alpha ignored
	if x := ImageTensor(n); x[1] != 0.2 || x[3] != 0.4 || x[5] != 1 {
		t.Errorf("NRGBA tensor %v", x)
	}
	r := image.NewRGBA(image.Rect(0, 0, 1, 1))
	r.SetRGBA(0, 0, color.RGBA{50, 0, 0, 100}) // premultiplied → straight 127
	if x := ImageTensor(r); x[0] != 127.0/255 {
		t.Errorf("translucent RGBA red %v, want 127/255", x[0])
	}
}

func TestEdgeTensorFitsTheGenerationSize(t *testing.T) {
	// A 200×100 photo with a centred square, fitted to 64×64: the square
	// ends up in the middle and its outline in the edge map.
	src := rectImage(200, 100, image.Rect(75, 25, 125, 75), color.Black, color.White)
	x, edges, err := EdgeTensor(src, 64, 64, DefaultCanny())
	if err != nil {
		t.Fatal(err)
	}
	if edges.Bounds() != image.Rect(0, 0, 64, 64) || len(x) != 3*64*64 {
		t.Fatalf("edge map %v, tensor %d", edges.Bounds(), len(x))
	}
	// The square spans 50/100 of the height → 32 px, centred: x, y 16..48.
	for _, p := range []image.Point{{15, 32}, {48, 32}, {32, 15}, {32, 48}} {
		hit := false
		for d := -1; d <= 1; d++ {
			q := p.Add(image.Pt(d, 0))
			if p.X == 32 {
				q = p.Add(image.Pt(0, d))
			}
			hit = hit || edges.GrayAt(q.X, q.Y).Y == 255
		}
		if !hit {
			t.Errorf("no edge near %v", p)
		}
	}
	if edges.GrayAt(32, 32).Y != 0 || edges.GrayAt(3, 3).Y != 0 {
		t.Error("edges inside the square or in the background")
	}
	for i, v := range edges.Pix {
		if x[i] != float32(v)/255 || x[64*64+i] != x[i] || x[2*64*64+i] != x[i] {
			t.Fatalf("tensor pixel %d: %v, edge map %d", i, x[i], v)
		}
	}
	if _, _, err := EdgeTensor(src, -1, 64, DefaultCanny()); err == nil {
		t.Error("negative size accepted")
	}
}
