package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Coords says how a file's keypoint coordinates are expressed.
type Coords int

const (
	// Pixels: x, y in canvas pixels (what ControlNet annotators write).
	Pixels Coords = iota
	// Normalized: x, y as 0..1 fractions of the canvas.
	Normalized
)

func (c Coords) String() string {
	if c == Normalized {
		return "normalized"
	}
	return "pixels"
}

// MaxJSONBytes bounds an OpenPose file; real ones are kilobytes.
const MaxJSONBytes = 8 << 20

// maxCoord bounds |x| and |y| in pixels: far off any canvas, yet small
// enough that no arithmetic on it overflows or loses all precision.
const maxCoord = 1e7

// maxExtraTriples bounds the optional hand and face arrays (21 and 70
// points in practice).
const maxExtraTriples = 1000

// JSON field names of the OpenPose interchange format.
const (
	keyPeople    = "people"
	keyWidth     = "canvas_width"
	keyHeight    = "canvas_height"
	keyPose      = "pose_keypoints_2d"
	keyHandLeft  = "hand_left_keypoints_2d"
	keyHandRight = "hand_right_keypoints_2d"
	keyFace      = "face_keypoints_2d"
)

// DecodeOptions adjusts DecodeOpenPose. The zero value is strict.
type DecodeOptions struct {
	// CanvasWidth and CanvasHeight are used when the file has no canvas
	// size (the OpenPose program itself writes none); zero means such a
	// file is an error.
	CanvasWidth, CanvasHeight int
}

// ReadOpenPose reads an OpenPose JSON document (see DecodeOpenPose).
func ReadOpenPose(r io.Reader, opt DecodeOptions) (*Pose, Coords, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxJSONBytes+1))
	if err != nil {
		return nil, Pixels, fmt.Errorf("read OpenPose JSON: %w", err)
	}
	return DecodeOpenPose(data, opt)
}

// DecodeOpenPose parses {"people":[{"pose_keypoints_2d":[x,y,c × 18], …}],
// "canvas_width":W, "canvas_height":H}. A point with c < 1 is missing.
// Coordinates are pixels unless every detected coordinate is ≤ 1 on a
// canvas larger than 1 px, in which case they are 0..1 fractions; either
// way the returned pose is in pixels and the Coords says which the file
// used, so EncodeOpenPose can write it back the same way. Hand and face
// arrays and unknown fields are kept for the round trip. Malformed input
// gives an error naming the offending field; it never panics.
func DecodeOpenPose(data []byte, opt DecodeOptions) (*Pose, Coords, error) {
	p, c, err := decodeOpenPose(data, opt)
	if err != nil {
		return nil, Pixels, fmt.Errorf("OpenPose JSON: %w", err)
	}
	return p, c, nil
}

func decodeOpenPose(data []byte, opt DecodeOptions) (*Pose, Coords, error) {
	if len(data) > MaxJSONBytes {
		return nil, Pixels, fmt.Errorf("larger than %d bytes", MaxJSONBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Windows editors' BOM
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, Pixels, fmt.Errorf("expected a JSON object: %w", err)
	}
	if top == nil {
		return nil, Pixels, errors.New("expected a JSON object, got null")
	}
	w, h, err := decodeCanvas(top, opt)
	if err != nil {
		return nil, Pixels, err
	}
	rawPeople, ok := top[keyPeople]
	if !ok {
		return nil, Pixels, fmt.Errorf("no %q field: not an OpenPose pose", keyPeople)
	}
	var people []map[string]json.RawMessage
	if err := json.Unmarshal(rawPeople, &people); err != nil {
		return nil, Pixels, fmt.Errorf("%q must be an array of objects: %w", keyPeople, err)
	}
	if len(people) > MaxPeople {
		return nil, Pixels, fmt.Errorf("%d people; at most %d are supported", len(people), MaxPeople)
	}
	p := &Pose{Width: w, Height: h, People: make([]Person, len(people)), extra: without(top, keyPeople, keyWidth, keyHeight)}
	for i, raw := range people {
		if err := decodePerson(raw, &p.People[i]); err != nil {
			return nil, Pixels, fmt.Errorf("person %d: %w", i, err)
		}
	}
	coords := detectCoords(p)
	if coords == Normalized {
		for i := range p.People {
			p.People[i].scale(float64(w), float64(h))
		}
	}
	return p, coords, nil
}

func decodeCanvas(top map[string]json.RawMessage, opt DecodeOptions) (w, h int, err error) {
	_, hasW := top[keyWidth]
	_, hasH := top[keyHeight]
	if !hasW && !hasH && opt.CanvasWidth != 0 {
		w, h = opt.CanvasWidth, opt.CanvasHeight
	} else {
		if w, err = decodeSide(top, keyWidth); err != nil {
			return 0, 0, err
		}
		if h, err = decodeSide(top, keyHeight); err != nil {
			return 0, 0, err
		}
	}
	if err := checkCanvas(w, h); err != nil {
		return 0, 0, err
	}
	return w, h, nil
}

func decodeSide(top map[string]json.RawMessage, key string) (int, error) {
	raw, ok := top[key]
	if !ok {
		return 0, fmt.Errorf("no %q: the canvas size is needed to place the pose", key)
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("%q must be a number: %w", key, err)
	}
	if v != math.Trunc(v) || v < 1 || v > MaxCanvas {
		return 0, fmt.Errorf("%q is %v; expected a whole number of pixels in 1..%d", key, v, MaxCanvas)
	}
	return int(v), nil
}

func decodePerson(raw map[string]json.RawMessage, pr *Person) error {
	if raw == nil {
		return errors.New("expected an object, got null")
	}
	body, err := decodeTriples(raw, keyPose, true)
	if err != nil {
		return err
	}
	if len(body) != 3*NumKeypoints {
		return fmt.Errorf("%q has %d values; expected %d (18 COCO keypoints × x, y, c)",
			keyPose, len(body), 3*NumKeypoints)
	}
	for k := range pr.Keypoints {
		x, y, c := body[3*k], body[3*k+1], body[3*k+2]
		pr.Keypoints[k] = Point{X: x, Y: y, Present: c >= 1}
	}
	if pr.HandLeft, err = decodeTriples(raw, keyHandLeft, false); err != nil {
		return err
	}
	if pr.HandRight, err = decodeTriples(raw, keyHandRight, false); err != nil {
		return err
	}
	if pr.Face, err = decodeTriples(raw, keyFace, false); err != nil {
		return err
	}
	pr.extra = without(raw, keyPose, keyHandLeft, keyHandRight, keyFace)
	return nil
}

// decodeTriples reads a flat [x, y, c, …] array, checking its shape and
// that every value is a sane finite number. An absent optional array is
// nil; a JSON null is treated as absent.
func decodeTriples(raw map[string]json.RawMessage, key string, required bool) ([]float64, error) {
	r, ok := raw[key]
	if !ok || bytes.Equal(bytes.TrimSpace(r), []byte("null")) {
		if required {
			return nil, fmt.Errorf("no %q", key)
		}
		return nil, nil
	}
	var v []float64
	if err := json.Unmarshal(r, &v); err != nil {
		return nil, fmt.Errorf("%q must be an array of numbers: %w", key, err)
	}
	if len(v)%3 != 0 {
		return nil, fmt.Errorf("%q has %d values, not a multiple of 3 (x, y, c triples)", key, len(v))
	}
	if len(v) > 3*maxExtraTriples {
		return nil, fmt.Errorf("%q has %d points; at most %d are supported", key, len(v)/3, maxExtraTriples)
	}
	for i, x := range v {
		if !finite(x) || math.Abs(x) > maxCoord {
			return nil, fmt.Errorf("%q value %d is %v; expected a finite number within ±%g", key, i, x, maxCoord)
		}
	}
	return v, nil
}

// detectCoords applies the interchange rule: normalised when the canvas is
// larger than 1 px and every detected coordinate is ≤ 1. A file with no
// detected point reads as pixels (nothing to scale either way).
func detectCoords(p *Pose) Coords {
	if max(p.Width, p.Height) <= 1 {
		return Pixels
	}
	seen := false
	small := func(x, y float64) bool { seen = true; return x <= 1 && y <= 1 }
	for i := range p.People {
		pr := &p.People[i]
		for _, pt := range pr.Keypoints {
			if pt.Present && !small(pt.X, pt.Y) {
				return Pixels
			}
		}
		for _, t := range [][]float64{pr.HandLeft, pr.HandRight, pr.Face} {
			for j := 0; j+2 < len(t); j += 3 {
				if t[j+2] > 0 && !small(t[j], t[j+1]) {
					return Pixels
				}
			}
		}
	}
	if seen {
		return Normalized
	}
	return Pixels
}

func without(m map[string]json.RawMessage, keys ...string) map[string]json.RawMessage {
	for _, k := range keys {
		delete(m, k)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// WriteOpenPose writes the pose as OpenPose JSON (see EncodeOpenPose).
func WriteOpenPose(w io.Writer, p *Pose, c Coords) error {
	data, err := EncodeOpenPose(p, c)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("write OpenPose JSON: %w", err)
	}
	return nil
}

// EncodeOpenPose renders the pose in the interchange format, coordinates in
// pixels or normalised to 0..1. Missing keypoints are written as 0, 0, 0,
// the convention every reader understands. Fields come in a fixed order
// (people, canvas size, then anything kept from the source file, sorted),
// so equal poses give equal bytes.
func EncodeOpenPose(p *Pose, c Coords) ([]byte, error) {
	if err := checkCanvas(p.Width, p.Height); err != nil {
		return nil, fmt.Errorf("encode OpenPose JSON: %w", err)
	}
	sx, sy := 1.0, 1.0
	if c == Normalized {
		sx, sy = 1/float64(p.Width), 1/float64(p.Height)
	}
	var b bytes.Buffer
	b.WriteString(`{"people":[`)
	for i := range p.People {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encodePerson(&b, &p.People[i], sx, sy); err != nil {
			return nil, fmt.Errorf("encode OpenPose JSON: person %d: %w", i, err)
		}
	}
	fmt.Fprintf(&b, `],"canvas_width":%d,"canvas_height":%d`, p.Width, p.Height)
	writeExtra(&b, p.extra)
	b.WriteByte('}')
	return b.Bytes(), nil
}

func encodePerson(b *bytes.Buffer, pr *Person, sx, sy float64) error {
	body := make([]float64, 0, 3*NumKeypoints)
	for k, pt := range pr.Keypoints {
		if !pt.Present {
			body = append(body, 0, 0, 0)
			continue
		}
		if !finite(pt.X) || !finite(pt.Y) || math.Abs(pt.X) > maxCoord || math.Abs(pt.Y) > maxCoord {
			return fmt.Errorf("%v at (%v, %v) is not a finite position within ±%g px", Keypoint(k), pt.X, pt.Y, maxCoord)
		}
		body = append(body, pt.X*sx, pt.Y*sy, 1)
	}
	b.WriteByte('{')
	if err := writeField(b, keyPose, body, true); err != nil {
		return err
	}
	for _, f := range []struct {
		key string
		v   []float64
	}{{keyHandLeft, pr.HandLeft}, {keyHandRight, pr.HandRight}, {keyFace, pr.Face}} {
		if f.v == nil {
			continue
		}
		if err := writeField(b, f.key, scaledTriples(f.v, sx, sy), false); err != nil {
			return err
		}
	}
	writeExtra(b, pr.extra)
	b.WriteByte('}')
	return nil
}

func scaledTriples(t []float64, sx, sy float64) []float64 {
	out := make([]float64, len(t)) // non-nil: an empty array stays [], not null
	copy(out, t)
	for j := 0; j+2 < len(out); j += 3 {
		out[j] *= sx
		out[j+1] *= sy
	}
	return out
}

func writeField(b *bytes.Buffer, key string, v any, first bool) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	if !first {
		b.WriteByte(',')
	}
	k, _ := json.Marshal(key) // a string always marshals
	b.Write(k)
	b.WriteByte(':')
	b.Write(data)
	return nil
}

// writeExtra appends preserved fields (already valid JSON) in key order.
func writeExtra(b *bytes.Buffer, extra map[string]json.RawMessage) {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kb, _ := json.Marshal(k) // a string always marshals
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(extra[k])
	}
}
