package storage

import (
	"bytes"
	"math"
	"math/rand"
	"reflect"
	"testing"
)

func TestFloatsArePackedLittleEndian(t *testing.T) {
	v := Floats{1, -2.5, float32(math.Inf(1)), 3e-38}
	b, err := marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	// CBOR byte string header (0x50 = 16 bytes) then the raw values.
	want := append([]byte{0x50}, 0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, 0, 0, 0x80, 0x7f)
	if !bytes.Equal(b[:13], want) || len(b) != 17 {
		t.Fatalf("encoded % x", b)
	}
	var back Floats
	if err := unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("round trip %v %v", back, err)
	}
	if err := unmarshal([]byte{0x43, 1, 2, 3}, &back); err == nil {
		t.Fatal("3-byte float data accepted")
	}
}

func TestBlobRefRejectsWrongLength(t *testing.T) {
	var r BlobRef
	if err := unmarshal([]byte{0x42, 1, 2}, &r); err == nil {
		t.Fatal("2-byte ref accepted")
	}
	ref := RefOf([]byte("x"))
	b, _ := marshal(ref)
	if err := unmarshal(b, &r); err != nil || r != ref {
		t.Fatalf("round trip: %v", err)
	}
	if p, err := ParseBlobRef(ref.String()); err != nil || p != ref {
		t.Fatalf("parse: %v", err)
	}
}

func TestTensorSetRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	ts := []NamedTensor{
		{Name: "stem.conv.weight", Shape: []int{4, 2, 3, 3}, Data: randFloats(r, 72)},
		{Name: "head.ln.bias", Shape: []int{8}, Data: randFloats(r, 8)},
	}
	b, err := EncodeTensorSet(ts)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeTensorSet(b)
	if err != nil || !reflect.DeepEqual(back, ts) {
		t.Fatalf("round trip: %v", err)
	}
	ts[1].Shape = []int{9}
	if _, err := EncodeTensorSet(ts); err == nil {
		t.Fatal("shape/data mismatch accepted")
	}
}

func TestDecoderLimitsHostileInput(t *testing.T) {
	// An array header claiming 2^32 elements must fail fast, not allocate.
	hostile := []byte{0xa1, 0x07, 0x9a, 0xff, 0xff, 0xff, 0xff}
	var s Subject
	if err := unmarshal(hostile, &s); err == nil {
		t.Fatal("hostile record decoded")
	}
	// Duplicate keys are refused (a record must have one meaning).
	dup := []byte{0xa2, 0x02, 0x61, 'a', 0x02, 0x61, 'b'}
	if err := unmarshal(dup, &s); err == nil {
		t.Fatal("duplicate key accepted")
	}
}
