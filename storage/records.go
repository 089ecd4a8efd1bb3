package storage

import "time"

// Struct versions. Each record carries its own version in field 0 so that a
// reader can tell which shape it holds; decoding a record newer than these
// fails instead of silently dropping fields. Bump a version when the
// meaning of a record changes, and add a schema migration (migrate.go).
const (
	SubjectVersion    = 1
	GenerationVersion = 2 // 2: several subjects per recipe, tags as a list (schema 2)
	JobVersion        = 1
	ModelVersion      = 1
)

// Tensor is a float32 array kept in a blob as packed little-endian values.
type Tensor struct {
	Shape []int   `cbor:"1,keyasint,omitempty"`
	Data  BlobRef `cbor:"2,keyasint"`
}

// SubjectImage is one casting image of a subject: the picture, its VAE
// latent z0 and its UNet mid-block input feature h.
type SubjectImage struct {
	Image  BlobRef `cbor:"1,keyasint"`
	Seed   int64   `cbor:"2,keyasint,omitempty"`
	Latent Tensor  `cbor:"3,keyasint"`
	H      Tensor  `cbor:"4,keyasint"`
}

// TuningSettings are the projector-tuning parameters a subject was made with.
type TuningSettings struct {
	Steps       int     `cbor:"1,keyasint,omitempty"`
	LR          float64 `cbor:"2,keyasint,omitempty"`
	Beta1       float64 `cbor:"3,keyasint,omitempty"`
	Beta2       float64 `cbor:"4,keyasint,omitempty"`
	WeightDecay float64 `cbor:"5,keyasint,omitempty"`
	Lambda1     float64 `cbor:"6,keyasint,omitempty"`
	Lambda2     float64 `cbor:"7,keyasint,omitempty"`
	Seed        int64   `cbor:"8,keyasint,omitempty"`
	CastSteps   int     `cbor:"9,keyasint,omitempty"`
	CastCFG     float64 `cbor:"10,keyasint,omitempty"`
	CastSampler string  `cbor:"11,keyasint,omitempty"`
}

// Subject is a tuned OneActor subject.
type Subject struct {
	V                int            `cbor:"0,keyasint"`
	ID               string         `cbor:"1,keyasint"`
	Name             string         `cbor:"2,keyasint"`
	BaseWord         string         `cbor:"3,keyasint"`
	BasePrompt       string         `cbor:"4,keyasint"`
	ModelFingerprint string         `cbor:"5,keyasint"`
	Target           SubjectImage   `cbor:"6,keyasint"`
	Auxiliaries      []SubjectImage `cbor:"7,keyasint"`
	// Projector is an optional blob holding the projector weights as a
	// tensor set (EncodeTensorSet); inference needs only the two offsets.
	Projector BlobRef        `cbor:"8,keyasint"`
	DeltaTar  Floats         `cbor:"9,keyasint"`
	DeltaAver Floats         `cbor:"10,keyasint"`
	Tuning    TuningSettings `cbor:"11,keyasint"`
	LossCurve Floats         `cbor:"12,keyasint"`
	Thumbnail BlobRef        `cbor:"13,keyasint"`
	// Incompatible marks a subject imported for a different model.
	Incompatible bool      `cbor:"14,keyasint,omitempty"`
	Created      time.Time `cbor:"15,keyasint"`
	Updated      time.Time `cbor:"16,keyasint"`
}

// SubjectUse is a subject taking part in a generation, with its OneActor
// guidance: semantic scale v and guidance scales η1, η2.
type SubjectUse struct {
	SubjectID string  `cbor:"1,keyasint"`
	V         float64 `cbor:"2,keyasint"`
	Eta1      float64 `cbor:"3,keyasint"`
	Eta2      float64 `cbor:"4,keyasint"`
}

// Control is optional pose/edge conditioning of a generation.
type Control struct {
	Kind  string  `cbor:"1,keyasint"` // "pose", "edges", …
	Image BlobRef `cbor:"2,keyasint"` // the control image as rendered
	Pose  []byte  `cbor:"3,keyasint,omitempty"`
	Scale float64 `cbor:"4,keyasint"`
	// Start and End are the fraction of sampling steps (0..1) it acts on.
	Start float64 `cbor:"5,keyasint"`
	End   float64 `cbor:"6,keyasint"`
}

// Recipe is everything needed to make a generation again.
type Recipe struct {
	Model     string       `cbor:"1,keyasint"` // model fingerprint
	ModelName string       `cbor:"2,keyasint,omitempty"`
	Prompt    string       `cbor:"3,keyasint"`
	Negative  string       `cbor:"4,keyasint,omitempty"`
	Seed      int64        `cbor:"5,keyasint"`
	Steps     int          `cbor:"6,keyasint"`
	Sampler   string       `cbor:"7,keyasint"`
	CFG       float64      `cbor:"8,keyasint"`
	Width     int          `cbor:"9,keyasint"`
	Height    int          `cbor:"10,keyasint"`
	InitImage BlobRef      `cbor:"11,keyasint"`
	Strength  float64      `cbor:"12,keyasint,omitempty"`
	Control   *Control     `cbor:"13,keyasint,omitempty"`
	Subjects  []SubjectUse `cbor:"14,keyasint,omitempty"`
}

// Generation is one picture in the gallery.
type Generation struct {
	V         int       `cbor:"0,keyasint"`
	ID        string    `cbor:"1,keyasint"`
	Time      time.Time `cbor:"2,keyasint"`
	Recipe    Recipe    `cbor:"3,keyasint"`
	Image     BlobRef   `cbor:"4,keyasint"`
	Thumbnail BlobRef   `cbor:"5,keyasint"`
	Favourite bool      `cbor:"6,keyasint,omitempty"`
	Tags      []string  `cbor:"7,keyasint,omitempty"`
}

// ModelInfo records a model the library has seen, by fingerprint.
type ModelInfo struct {
	V           int       `cbor:"0,keyasint"`
	Fingerprint string    `cbor:"1,keyasint"`
	Name        string    `cbor:"2,keyasint"`
	Family      string    `cbor:"3,keyasint,omitempty"`
	Path        string    `cbor:"4,keyasint,omitempty"`
	Added       time.Time `cbor:"5,keyasint"`
}

// refs lists every blob a record points at, in a fixed order, duplicates
// kept: reference counts add and remove exactly this list.
func (s *Subject) refs() []BlobRef {
	out := make([]BlobRef, 0, 4+3*(1+len(s.Auxiliaries)))
	img := func(im SubjectImage) {
		out = append(out, im.Image, im.Latent.Data, im.H.Data)
	}
	img(s.Target)
	for _, a := range s.Auxiliaries {
		img(a)
	}
	out = append(out, s.Projector, s.Thumbnail)
	return nonZero(out)
}

func (g *Generation) refs() []BlobRef {
	out := []BlobRef{g.Image, g.Thumbnail, g.Recipe.InitImage}
	if g.Recipe.Control != nil {
		out = append(out, g.Recipe.Control.Image)
	}
	return nonZero(out)
}

func nonZero(refs []BlobRef) []BlobRef {
	out := refs[:0]
	for _, r := range refs {
		if !r.IsZero() {
			out = append(out, r)
		}
	}
	return out
}
