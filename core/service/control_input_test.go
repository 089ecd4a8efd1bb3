package service

import (
	"bytes"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/control"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/storage"
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

func TestControlKeptWithThePictures(t *testing.T) {
	st, _ := testStudio(t)
	p, _ := control.NewPose(64, 64)
	p.AddPerson(control.Walking)
	js, _ := control.EncodeOpenPose(p, control.Pixels)
	r := DefaultRecipe()
	r.Prompt, r.Width, r.Height = "a walker", 64, 64
	r.Control = &ControlSettings{Kind: ControlPose, Pose: js, Scale: 0.7, Start: 0.2, End: 0.9}
	_, ctlImg, err := controlInput(r.Control, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	err = st.lib.Update(func(tx *storage.Tx) error {
		var err error
		items, err = putGenerations(tx, r, []image.Image{image.NewRGBA(image.Rect(0, 0, 64, 64))}, []int64{5}, ctlImg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := st.lib.Generation(items[0].ID)
	if err != nil || g.Recipe.Control == nil {
		t.Fatalf("stored control: %+v %v", g, err)
	}
	c := g.Recipe.Control
	if c.Kind != ControlPose || !bytes.Equal(c.Pose, js) || c.Scale != 0.7 || c.Start != 0.2 || c.End != 0.9 {
		t.Fatalf("control %+v", c)
	}
	data, err := st.lib.Blob(c.Image)
	if err != nil {
		t.Fatal(err)
	}
	kept, _, _ := imageio.DecodeBytes(data)
	if kept.Bounds() != ctlImg.Bounds() {
		t.Errorf("kept control image %v", kept.Bounds())
	}
	it, _ := st.Item(items[0].ID)
	if !strings.Contains(it.Recipe.Text(), "Conditioning: pose, strength 0.70, from 20% to 90%") {
		t.Errorf("recipe text %q", it.Recipe.Text())
	}
}
