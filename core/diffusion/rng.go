package diffusion

import (
	"math"
	"math/rand/v2"
)

// RNG is the documented noise generator, so a seed means the same picture
// on every machine and version: PCG-DXSM (the 128-bit permuted congruential
// generator of math/rand/v2, a fixed published algorithm) seeded with
// (seed, seed XOR 0x5DEECE66D), turned into uniform doubles from the top 53
// bits, then into standard normals by the Box–Muller transform, cosine
// sample first, sine sample second.
type RNG struct {
	src   *rand.PCG
	spare float64
	has   bool
}

// NewRNG seeds a generator.
func NewRNG(seed uint64) *RNG {
	return &RNG{src: rand.NewPCG(seed, seed^0x5DEECE66D)}
}

func (r *RNG) uniform() float64 {
	// (k + 0.5) / 2^53 lies strictly inside (0, 1): log never sees 0.
	return (float64(r.src.Uint64()>>11) + 0.5) / (1 << 53)
}

// Normal fills dst with standard normal samples.
func (r *RNG) Normal(dst []float32) {
	for i := range dst {
		if r.has {
			dst[i] = float32(r.spare)
			r.has = false
			continue
		}
		u1, u2 := r.uniform(), r.uniform()
		rad := math.Sqrt(-2 * math.Log(u1))
		dst[i] = float32(rad * math.Cos(2*math.Pi*u2))
		r.spare, r.has = rad*math.Sin(2*math.Pi*u2), true
	}
}

// batchNoise gives each image of a batch its own generator (seed, seed+1,
// …), so image k of a batch equals a single image made with seed+k.
type batchNoise struct {
	rngs []*RNG
}

func newBatchNoise(seeds []uint64) *batchNoise {
	b := &batchNoise{}
	for _, s := range seeds {
		b.rngs = append(b.rngs, NewRNG(s))
	}
	return b
}

// Normal fills dst (the batch's latents, image after image).
func (b *batchNoise) Normal(dst []float32) {
	per := len(dst) / len(b.rngs)
	for i, r := range b.rngs {
		r.Normal(dst[i*per : (i+1)*per])
	}
}
