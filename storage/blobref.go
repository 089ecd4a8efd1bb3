package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// BlobRef names a blob by the SHA-256 of its content. The zero value means
// "no blob" (an optional field left empty).
type BlobRef [sha256.Size]byte

// RefOf returns the reference a blob with this content has.
func RefOf(data []byte) BlobRef { return sha256.Sum256(data) }

// IsZero reports whether r is the "no blob" value.
func (r BlobRef) IsZero() bool { return r == BlobRef{} }

// String is the lower-case hex digest ("" for the zero ref).
func (r BlobRef) String() string {
	if r.IsZero() {
		return ""
	}
	return hex.EncodeToString(r[:])
}

// ParseBlobRef parses a 64-digit hex digest.
func ParseBlobRef(s string) (BlobRef, error) {
	var r BlobRef
	if len(s) != 2*len(r) {
		return r, fmt.Errorf("blob ref %q: want %d hex digits", s, 2*len(r))
	}
	if _, err := hex.Decode(r[:], []byte(s)); err != nil {
		return r, fmt.Errorf("blob ref %q: %w", s, err)
	}
	return r, nil
}

// MarshalCBOR stores the digest as a byte string (empty when zero).
func (r BlobRef) MarshalCBOR() ([]byte, error) {
	if r.IsZero() {
		return encMode.Marshal([]byte{})
	}
	return encMode.Marshal(r[:])
}

// UnmarshalCBOR insists on exactly 32 bytes (or none), so a damaged record
// cannot silently point at a truncated digest.
func (r *BlobRef) UnmarshalCBOR(data []byte) error {
	var b []byte
	if err := decMode.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("blob ref: %w", err)
	}
	switch len(b) {
	case 0:
		*r = BlobRef{}
	case len(r):
		copy(r[:], b)
	default:
		return fmt.Errorf("blob ref of %d bytes, want %d", len(b), len(r))
	}
	return nil
}
