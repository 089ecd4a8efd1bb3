package storage

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Records are encoded with CBOR (RFC 8949) through github.com/fxamacker/cbor/v2.
// Why this codec:
//   - It is well kept and security-reviewed (used by Kubernetes, etcd tooling,
//     Microsoft and others; fuzzed continuously), which matters because
//     imported bundles are untrusted input.
//   - Its decoder has hard limits (nesting, array and map sizes) and rejects
//     duplicate map keys, so a hostile record cannot blow up memory.
//   - Structs use small integer keys (keyasint): compact, and a field can be
//     added later without breaking older records (unknown keys are ignored,
//     missing keys decode as zero values) — the basis of our struct versions.
//   - Byte strings are native, so float vectors are stored as packed
//     little-endian float32 (see Floats) rather than as number arrays.
//   - Core deterministic encoding makes equal records encode to equal bytes,
//     so bundle checksums are reproducible.
// encoding/gob was rejected (Go-only, no decode limits), JSON (floats as text,
// no byte strings), protobuf (needs generated code for every record change).

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	eo := cbor.CoreDetEncOptions()
	eo.Time = cbor.TimeRFC3339NanoUTC
	var err error
	if encMode, err = eo.EncMode(); err != nil {
		panic(fmt.Sprintf("storage: cbor encoder options: %v", err))
	}
	do := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  16,
		MaxArrayElements: 1 << 16,
		MaxMapPairs:      1 << 12,
		IndefLength:      cbor.IndefLengthForbidden,
	}
	if decMode, err = do.DecMode(); err != nil {
		panic(fmt.Sprintf("storage: cbor decoder options: %v", err))
	}
}

func marshal(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

func unmarshal(b []byte, v any) error {
	if err := decMode.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}
