package control

import (
	"encoding/json"
	"fmt"
	"math"
)

// MaxCanvas bounds a pose canvas side: far above any diffusion resolution,
// small enough that a hostile file cannot make the renderer allocate
// gigabytes.
const MaxCanvas = 16384

// MaxPeople bounds the people in one pose, for the same reason.
const MaxPeople = 100

// Point is one keypoint: a position in canvas pixels and whether the point
// is present. A missing point keeps whatever coordinates it had (a file's
// 0,0, or where it was deleted), but nothing draws, hit-tests or exports
// them; Restore places it afresh.
type Point struct {
	X, Y    float64
	Present bool
}

// Person is one body: 18 keypoints plus the optional OpenPose hand and face
// arrays, carried through edits so importing and exporting a file made by
// another tool loses nothing.
type Person struct {
	Keypoints [NumKeypoints]Point
	// HandLeft, HandRight and Face are flat (x, y, c) triples in canvas
	// pixels, as in the JSON; nil when the file had none.
	HandLeft, HandRight, Face []float64

	// extra holds JSON fields of the person this package does not interpret.
	extra map[string]json.RawMessage
}

// Pose is a canvas and the people on it.
type Pose struct {
	Width, Height int
	People        []Person

	// extra holds top-level JSON fields this package does not interpret.
	extra map[string]json.RawMessage
}

// NewPose returns an empty pose on a w×h canvas.
func NewPose(w, h int) (*Pose, error) {
	if err := checkCanvas(w, h); err != nil {
		return nil, err
	}
	return &Pose{Width: w, Height: h}, nil
}

func checkCanvas(w, h int) error {
	if w < 1 || h < 1 || w > MaxCanvas || h > MaxCanvas {
		return fmt.Errorf("canvas %d×%d out of range (1..%d per side)", w, h, MaxCanvas)
	}
	return nil
}

// Clone returns a deep copy, so an editor can keep undo snapshots.
func (p *Pose) Clone() *Pose {
	q := &Pose{Width: p.Width, Height: p.Height, extra: p.extra}
	q.People = make([]Person, len(p.People))
	for i := range p.People {
		q.People[i] = p.People[i].clone()
	}
	return q
}

func (pr Person) clone() Person {
	pr.HandLeft = cloneFloats(pr.HandLeft)
	pr.HandRight = cloneFloats(pr.HandRight)
	pr.Face = cloneFloats(pr.Face)
	return pr // extra is never mutated, so sharing it is safe
}

func cloneFloats(s []float64) []float64 {
	if s == nil {
		return nil
	}
	return append([]float64(nil), s...)
}

func (p *Pose) person(i int) (*Person, error) {
	if i < 0 || i >= len(p.People) {
		return nil, fmt.Errorf("person %d out of range (pose has %d)", i, len(p.People))
	}
	return &p.People[i], nil
}

func (p *Pose) joint(i int, k Keypoint) (*Point, error) {
	pr, err := p.person(i)
	if err != nil {
		return nil, err
	}
	if !k.Valid() {
		return nil, fmt.Errorf("keypoint %d out of range (0..%d)", int(k), NumKeypoints-1)
	}
	return &pr.Keypoints[k], nil
}

// Move puts keypoint k of person i at (x, y) canvas pixels. Positions off
// the canvas are allowed (a limb may leave the frame) within the range an
// OpenPose file may hold, so whatever is edited can be saved and loaded.
func (p *Pose) Move(i int, k Keypoint, x, y float64) error {
	pt, err := p.joint(i, k)
	if err != nil {
		return err
	}
	if !finite(x) || !finite(y) || math.Abs(x) > maxCoord || math.Abs(y) > maxCoord {
		return fmt.Errorf("move %v to (%v, %v): position must be finite and within ±%g px", k, x, y, maxCoord)
	}
	pt.X, pt.Y = x, y
	return nil
}

// Delete marks keypoint k of person i missing: its circle and every limb
// touching it disappear from the rendered image.
func (p *Pose) Delete(i int, k Keypoint) error {
	pt, err := p.joint(i, k)
	if err != nil {
		return err
	}
	pt.Present = false
	return nil
}

// Restore makes keypoint k of person i present again at a default position
// derived from the person's other joints (see Person.DefaultPosition).
// Restoring a present point leaves it where it is.
func (p *Pose) Restore(i int, k Keypoint) error {
	pt, err := p.joint(i, k)
	if err != nil {
		return err
	}
	if pt.Present {
		return nil
	}
	x, y := p.People[i].DefaultPosition(k, p.Width, p.Height)
	*pt = Point{X: x, Y: y, Present: true}
	return nil
}

// RemovePerson deletes person i.
func (p *Pose) RemovePerson(i int) error {
	if _, err := p.person(i); err != nil {
		return err
	}
	p.People = append(p.People[:i], p.People[i+1:]...)
	return nil
}

// Mirror flips the whole pose horizontally across the canvas: x ↦ W − x and
// every left keypoint trades places with its right counterpart, so the
// mirrored image is still a correctly labelled skeleton.
func (p *Pose) Mirror() {
	for i := range p.People {
		p.People[i].Mirror(float64(p.Width) / 2)
	}
}

// MirrorPerson flips person i about the vertical line through the middle of
// its present keypoints, so the person stays where it stands.
func (p *Pose) MirrorPerson(i int) error {
	pr, err := p.person(i)
	if err != nil {
		return err
	}
	minX, maxX, ok := pr.xRange()
	if !ok {
		return nil
	}
	pr.Mirror((minX + maxX) / 2)
	return nil
}

// Resize moves the pose to a w×h canvas, scaling every coordinate (hands
// and face included) with the canvas.
func (p *Pose) Resize(w, h int) error {
	if err := checkCanvas(w, h); err != nil {
		return err
	}
	sx, sy := float64(w)/float64(p.Width), float64(h)/float64(p.Height)
	for i := range p.People {
		p.People[i].scale(sx, sy)
	}
	p.Width, p.Height = w, h
	return nil
}

// ToNormalized converts canvas pixels to 0..1 canvas fractions, the
// resolution-independent form editors draw at any widget size.
func (p *Pose) ToNormalized(x, y float64) (nx, ny float64) {
	return x / float64(p.Width), y / float64(p.Height)
}

// FromNormalized converts 0..1 canvas fractions to canvas pixels.
func (p *Pose) FromNormalized(nx, ny float64) (x, y float64) {
	return nx * float64(p.Width), ny * float64(p.Height)
}

// Mirror reflects the person about the vertical line x = axis and swaps
// left and right: body keypoints, the two hands, and the face landmarks.
func (pr *Person) Mirror(axis float64) {
	var m [NumKeypoints]Point
	for k := range pr.Keypoints {
		pt := pr.Keypoints[k]
		pt.X = 2*axis - pt.X
		m[Keypoint(k).Mirror()] = pt
	}
	pr.Keypoints = m
	mirrorTriples(pr.HandLeft, axis)
	mirrorTriples(pr.HandRight, axis)
	pr.HandLeft, pr.HandRight = pr.HandRight, pr.HandLeft
	mirrorTriples(pr.Face, axis)
	pr.Face = relabelFace(pr.Face)
}

// mirrorTriples flips x of every detected triple; undetected ones (c ≤ 0,
// conventionally 0,0,0) stay untouched so they still read as "none".
func mirrorTriples(t []float64, axis float64) {
	for j := 0; j+2 < len(t); j += 3 {
		if t[j+2] > 0 {
			t[j] = 2*axis - t[j]
		}
	}
}

func (pr *Person) scale(sx, sy float64) {
	for k := range pr.Keypoints {
		pr.Keypoints[k].X *= sx
		pr.Keypoints[k].Y *= sy
	}
	for _, t := range [][]float64{pr.HandLeft, pr.HandRight, pr.Face} {
		for j := 0; j+2 < len(t); j += 3 {
			t[j] *= sx
			t[j+1] *= sy
		}
	}
}

// Translate shifts every keypoint (hands and face included) by (dx, dy).
func (pr *Person) Translate(dx, dy float64) {
	for k := range pr.Keypoints {
		pr.Keypoints[k].X += dx
		pr.Keypoints[k].Y += dy
	}
	for _, t := range [][]float64{pr.HandLeft, pr.HandRight, pr.Face} {
		for j := 0; j+2 < len(t); j += 3 {
			t[j] += dx
			t[j+1] += dy
		}
	}
}

// PresentCount is the number of present body keypoints.
func (pr *Person) PresentCount() int {
	n := 0
	for _, pt := range pr.Keypoints {
		if pt.Present {
			n++
		}
	}
	return n
}

func (pr *Person) xRange() (minX, maxX float64, ok bool) {
	minX, maxX = math.Inf(1), math.Inf(-1)
	for _, pt := range pr.Keypoints {
		if pt.Present {
			minX, maxX = math.Min(minX, pt.X), math.Max(maxX, pt.X)
			ok = true
		}
	}
	return minX, maxX, ok
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
