package storage

import "fmt"

// NamedTensor is one weight tensor of a tensor set.
type NamedTensor struct {
	Name  string `cbor:"1,keyasint"`
	Shape []int  `cbor:"2,keyasint"`
	Data  Floats `cbor:"3,keyasint"`
}

type tensorSet struct {
	V       int           `cbor:"0,keyasint"`
	Tensors []NamedTensor `cbor:"1,keyasint"`
}

const tensorSetVersion = 1

// EncodeTensorSet packs named float32 tensors (the projector's weights)
// into one blob; store it with Tx.PutBlob and put the ref in
// Subject.Projector.
func EncodeTensorSet(ts []NamedTensor) ([]byte, error) {
	for _, t := range ts {
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension in %v", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %q: shape %v holds %d values, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
	}
	return marshal(tensorSet{V: tensorSetVersion, Tensors: ts})
}

// DecodeTensorSet unpacks a blob written by EncodeTensorSet.
func DecodeTensorSet(b []byte) ([]NamedTensor, error) {
	var ts tensorSet
	if err := unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("tensor set: %w", err)
	}
	if ts.V != tensorSetVersion {
		return nil, fmt.Errorf("tensor set version %d (this app reads %d)", ts.V, tensorSetVersion)
	}
	for _, t := range ts.Tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %q: shape %v holds %d values, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
	}
	return ts.Tensors, nil
}
