package service

import (
	"bytes"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/control"
	"github.com/oneactor/oneactor-desktop/core/imageio"
)

func TestControlInputRendersPoseAtOutputSize(t *testing.T) {
	p, err := control.NewPose(512, 512)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddPerson(control.Presets()[0]); err != nil {
		t.Fatal(err)
	}
	js, err := control.EncodeOpenPose(p, control.Pixels)
	if err != nil {
		t.Fatal(err)
	}
	c, img, err := controlInput(&ControlSettings{Kind: ControlPose, Pose: js, Scale: 0.8, Start: 0.1}, 64, 96)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Image) != 3*64*96 || c.Scale != 0.8 || c.Start != 0.1 || c.End != 1 {
		t.Fatalf("control %d values, %+v", len(c.Image), *c)
	}
	want, _ := control.Render(p, 64, 96)
	if img.Bounds() != want.Bounds() || !bytes.Equal(img.(*image.RGBA).Pix, want.Pix) {
		t.Fatal("the kept control image is not the rendered skeleton")
	}
	var lit int
	for _, v := range c.Image {
		if v > 0 {
			lit++
		}
	}
	if lit == 0 {
		t.Fatal("an empty skeleton")
	}
	if _, _, err := controlInput(&ControlSettings{Kind: ControlPose, Pose: []byte(`{"people": 3}`)}, 64, 64); err == nil || !strings.Contains(err.Error(), "pose") {
		t.Errorf("bad pose JSON: %v", err)
	}
}

func TestControlInputFindsEdges(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 80, 80))
	for y := 0; y < 80; y++ {
		for x := 0; x < 80; x++ {
			if x > 20 && x < 60 && y > 20 && y < 60 {
				src.Set(x, y, color.White)
			} else {
				src.Set(x, y, color.Black)
			}
		}
	}
	var buf bytes.Buffer
	imageio.EncodePNG(&buf, src)
	c, img, err := controlInput(&ControlSettings{Kind: ControlEdges, Image: buf.Bytes(), Low: 100, High: 200, Scale: 1}, 40, 40)
	if err != nil {
		t.Fatal(err)
	}
	g := img.(*image.Gray)
	var edge, total int
	for _, v := range g.Pix {
		total++
		if v == 255 {
			edge++
		}
	}
	if edge == 0 || edge > total/4 || len(c.Image) != 3*40*40 {
		t.Fatalf("%d edge pixels of %d", edge, total)
	}
	if _, _, err := controlInput(&ControlSettings{Kind: ControlEdges, Image: []byte("nope")}, 40, 40); err == nil {
		t.Error("a broken picture was accepted")
	}
	if _, _, err := controlInput(&ControlSettings{Kind: "depth"}, 40, 40); err == nil {
		t.Error("an unknown kind was accepted")
	}
}
