package storage

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/fxamacker/cbor/v2"
)

// Floats is a float32 vector stored as one CBOR byte string of packed
// little-endian float32 values: 4 bytes a value instead of 5 for a CBOR
// float32 array, and one copy to decode.
type Floats []float32

// MarshalCBOR implements cbor.Marshaler.
func (f Floats) MarshalCBOR() ([]byte, error) {
	if f == nil {
		return encMode.Marshal(nil)
	}
	return encMode.Marshal(FloatsToBytes(f))
}

// UnmarshalCBOR implements cbor.Unmarshaler.
func (f *Floats) UnmarshalCBOR(data []byte) error {
	var raw []byte
	if err := decMode.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("float vector: %w", err)
	}
	if raw == nil {
		*f = nil
		return nil
	}
	v, err := BytesToFloats(raw)
	if err != nil {
		return err
	}
	*f = v
	return nil
}

var (
	_ cbor.Marshaler   = Floats(nil)
	_ cbor.Unmarshaler = (*Floats)(nil)
)

// FloatsToBytes packs values as little-endian float32 (the on-disk form of
// latents, h features and offsets).
func FloatsToBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// BytesToFloats unpacks little-endian float32 values.
func BytesToFloats(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("float32 data of %d bytes is not a multiple of 4", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
