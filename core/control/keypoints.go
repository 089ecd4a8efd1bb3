package control

import (
	"fmt"
	"image/color"
)

// Keypoint is an index into the COCO-18 / OpenPose body keypoint order.
type Keypoint int

// The 18 body keypoints in OpenPose order. "Right" is the subject's right,
// which appears on the image's left for a person facing the viewer.
const (
	Nose Keypoint = iota
	Neck
	RShoulder
	RElbow
	RWrist
	LShoulder
	LElbow
	LWrist
	RHip
	RKnee
	RAnkle
	LHip
	LKnee
	LAnkle
	REye
	LEye
	REar
	LEar
)

// NumKeypoints is the number of body keypoints per person.
const NumKeypoints = 18

// NumLimbs is the number of limbs the skeleton draws.
const NumLimbs = 17

var keypointNames = [NumKeypoints]string{
	"nose", "neck", "right shoulder", "right elbow", "right wrist",
	"left shoulder", "left elbow", "left wrist", "right hip", "right knee",
	"right ankle", "left hip", "left knee", "left ankle", "right eye",
	"left eye", "right ear", "left ear",
}

// String is the human-readable name ("right elbow"), for editor labels.
func (k Keypoint) String() string {
	if k.Valid() {
		return keypointNames[k]
	}
	return fmt.Sprintf("keypoint(%d)", int(k))
}

// Valid reports whether k is one of the 18 keypoints.
func (k Keypoint) Valid() bool { return k >= 0 && k < NumKeypoints }

// mirrorOf maps each keypoint to its left/right counterpart (itself on the
// midline).
var mirrorOf = [NumKeypoints]Keypoint{
	Nose, Neck, LShoulder, LElbow, LWrist, RShoulder, RElbow, RWrist,
	LHip, LKnee, LAnkle, RHip, RKnee, RAnkle, LEye, REye, LEar, REar,
}

// Mirror returns the keypoint on the other side of the body (RElbow ↔
// LElbow); midline points (nose, neck) map to themselves.
func (k Keypoint) Mirror() Keypoint {
	if !k.Valid() {
		return k
	}
	return mirrorOf[k]
}

// Limb is a pair of keypoints joined by a stick.
type Limb struct{ A, B Keypoint }

// limbs lists the skeleton's sticks in drawing order; limb i is drawn in
// LimbColor(i). Order matters: later limbs overwrite earlier ones where they
// overlap, exactly as in the reference renderer.
var limbs = [NumLimbs]Limb{
	{Neck, RShoulder}, {Neck, LShoulder}, {RShoulder, RElbow}, {RElbow, RWrist},
	{LShoulder, LElbow}, {LElbow, LWrist}, {Neck, RHip}, {RHip, RKnee},
	{RKnee, RAnkle}, {Neck, LHip}, {LHip, LKnee}, {LKnee, LAnkle},
	{Neck, Nose}, {Nose, REye}, {REye, REar}, {Nose, LEye}, {LEye, LEar},
}

// Limbs returns the 17 limbs in drawing order (a copy).
func Limbs() [NumLimbs]Limb { return limbs }

var colors = [NumKeypoints]color.RGBA{
	{255, 0, 0, 255}, {255, 85, 0, 255}, {255, 170, 0, 255}, {255, 255, 0, 255},
	{170, 255, 0, 255}, {85, 255, 0, 255}, {0, 255, 0, 255}, {0, 255, 85, 255},
	{0, 255, 170, 255}, {0, 255, 255, 255}, {0, 170, 255, 255}, {0, 85, 255, 255},
	{0, 0, 255, 255}, {85, 0, 255, 255}, {170, 0, 255, 255}, {255, 0, 255, 255},
	{255, 0, 170, 255}, {255, 0, 85, 255},
}

// JointColor is the standard OpenPose colour of keypoint k (transparent
// for an invalid k, so a GUI bug shows as a missing dot, not a crash).
func JointColor(k Keypoint) color.RGBA {
	if !k.Valid() {
		return color.RGBA{}
	}
	return colors[k]
}

// LimbColor is the colour limb i is drawn in: colour i scaled by 0.6 with
// integer truncation (255→153, 170→102, 85→51), as the annotator does with
// int(c * 0.6).
// Invalid i gives transparent, like JointColor.
func LimbColor(i int) color.RGBA {
	if i < 0 || i >= NumLimbs {
		return color.RGBA{}
	}
	c := colors[i]
	return color.RGBA{dim(c.R), dim(c.G), dim(c.B), 255}
}

func dim(v uint8) uint8 { return uint8(float64(v) * 0.6) }

// neighbours lists, for each keypoint, the keypoints it shares a limb with.
var neighbours = func() [NumKeypoints][]Keypoint {
	var n [NumKeypoints][]Keypoint
	for _, l := range limbs {
		n[l.A] = append(n[l.A], l.B)
		n[l.B] = append(n[l.B], l.A)
	}
	return n
}()
