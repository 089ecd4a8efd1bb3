// Package schemav1 is a frozen description of library schema 1: the record
// shapes and buckets that version wrote. storage's migration decodes old
// records with it, and fixturegen writes the committed fixture with it.
// Never change it: it describes files that exist on users' disks.
package schemav1

import "time"

// Version is the schema number these types belong to.
const Version = 1

// Buckets of schema 1 (no models, no jobs).
var Buckets = []string{"meta", "subjects", "generations", "blobs", "blobrefs", "settings"}

// Tensor as written by schema 1 (a blob of little-endian float32).
type Tensor struct {
	Shape []int  `cbor:"1,keyasint,omitempty"`
	Data  []byte `cbor:"2,keyasint"`
}

// SubjectImage as written by schema 1.
type SubjectImage struct {
	Image  []byte `cbor:"1,keyasint"`
	Seed   int64  `cbor:"2,keyasint,omitempty"`
	Latent Tensor `cbor:"3,keyasint"`
	H      Tensor `cbor:"4,keyasint"`
}

// Tuning as written by schema 1.
type Tuning struct {
	Steps   int     `cbor:"1,keyasint,omitempty"`
	LR      float64 `cbor:"2,keyasint,omitempty"`
	Lambda1 float64 `cbor:"6,keyasint,omitempty"`
	Lambda2 float64 `cbor:"7,keyasint,omitempty"`
	Seed    int64   `cbor:"8,keyasint,omitempty"`
}

// Subject record, version 1 (floats are packed little-endian float32).
type Subject struct {
	V                int            `cbor:"0,keyasint"`
	ID               string         `cbor:"1,keyasint"`
	Name             string         `cbor:"2,keyasint"`
	BaseWord         string         `cbor:"3,keyasint"`
	BasePrompt       string         `cbor:"4,keyasint"`
	ModelFingerprint string         `cbor:"5,keyasint"`
	Target           SubjectImage   `cbor:"6,keyasint"`
	Auxiliaries      []SubjectImage `cbor:"7,keyasint"`
	Projector        []byte         `cbor:"8,keyasint"`
	DeltaTar         []byte         `cbor:"9,keyasint"`
	DeltaAver        []byte         `cbor:"10,keyasint"`
	Tuning           Tuning         `cbor:"11,keyasint"`
	LossCurve        []byte         `cbor:"12,keyasint"`
	Thumbnail        []byte         `cbor:"13,keyasint"`
	Created          time.Time      `cbor:"15,keyasint"`
	Updated          time.Time      `cbor:"16,keyasint"`
}

// Control as written by schema 1.
type Control struct {
	Kind  string  `cbor:"1,keyasint"`
	Image []byte  `cbor:"2,keyasint"`
	Pose  []byte  `cbor:"3,keyasint,omitempty"`
	Scale float64 `cbor:"4,keyasint"`
	Start float64 `cbor:"5,keyasint"`
	End   float64 `cbor:"6,keyasint"`
}

// Recipe, version 1: at most one subject, its guidance flat in the recipe.
type Recipe struct {
	Model         string   `cbor:"1,keyasint"`
	ModelName     string   `cbor:"2,keyasint,omitempty"`
	Prompt        string   `cbor:"3,keyasint"`
	Negative      string   `cbor:"4,keyasint,omitempty"`
	Seed          int64    `cbor:"5,keyasint"`
	Steps         int      `cbor:"6,keyasint"`
	Sampler       string   `cbor:"7,keyasint"`
	CFG           float64  `cbor:"8,keyasint"`
	Width         int      `cbor:"9,keyasint"`
	Height        int      `cbor:"10,keyasint"`
	InitImage     []byte   `cbor:"11,keyasint"`
	Strength      float64  `cbor:"12,keyasint,omitempty"`
	Control       *Control `cbor:"13,keyasint,omitempty"`
	SubjectID     string   `cbor:"14,keyasint,omitempty"`
	SemanticScale float64  `cbor:"15,keyasint,omitempty"`
	Eta1          float64  `cbor:"16,keyasint,omitempty"`
	Eta2          float64  `cbor:"17,keyasint,omitempty"`
}

// Generation record, version 1: tags as one comma-separated string.
type Generation struct {
	V         int       `cbor:"0,keyasint"`
	ID        string    `cbor:"1,keyasint"`
	Time      time.Time `cbor:"2,keyasint"`
	Recipe    Recipe    `cbor:"3,keyasint"`
	Image     []byte    `cbor:"4,keyasint"`
	Thumbnail []byte    `cbor:"5,keyasint"`
	Favourite bool      `cbor:"6,keyasint,omitempty"`
	Tags      string    `cbor:"7,keyasint,omitempty"`
}
