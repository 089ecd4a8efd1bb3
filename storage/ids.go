package storage

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// newID returns a 24-hex-digit id: 8 bytes of big-endian Unix nanoseconds
// then 4 random bytes. Ids sort by creation time as bytes, so the
// generations bucket itself is the newest-first index (no second index to
// keep in step).
func newID(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixNano()))
	if _, err := rand.Read(b[8:]); err != nil {
		panic("storage: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// now is the clock; UTC and without a monotonic reading so that stored
// and returned times compare equal.
func now() time.Time { return time.Now().UTC().Round(0) }

// validID reports whether id has the shape newID makes.
func validID(id string) bool {
	if len(id) != 24 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}
