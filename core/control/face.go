package control

// faceMirror maps each landmark of the OpenPose 70-point face (the iBUG 68
// landmarks plus two pupils) to its counterpart after a horizontal flip, so a
// mirrored face still has its right eye where the right eye belongs.
var faceMirror = func() [70]int {
	var m [70]int
	for i := range m {
		m[i] = i
	}
	pair := func(a, b int) { m[a], m[b] = b, a }
	for i := 0; i < 8; i++ { // jaw line 0..16, 8 is the chin
		pair(i, 16-i)
	}
	for i := 0; i < 5; i++ { // eyebrows 17..21 ↔ 26..22
		pair(17+i, 26-i)
	}
	pair(31, 35) // nostrils; 27..30 (bridge) and 33 (tip) are on the midline
	pair(32, 34)
	pair(36, 45) // eye corners and lids
	pair(37, 44)
	pair(38, 43)
	pair(39, 42)
	pair(40, 47)
	pair(41, 46)
	pair(48, 54) // outer lip; 51 and 57 on the midline
	pair(49, 53)
	pair(50, 52)
	pair(55, 59)
	pair(56, 58)
	pair(60, 64) // inner lip; 62 and 66 on the midline
	pair(61, 63)
	pair(65, 67)
	pair(68, 69) // pupils
	return m
}()

// relabelFace permutes a mirrored 70-point face so indices keep their
// meaning. Faces in another layout have no known correspondence and keep
// their order (their x is already flipped).
func relabelFace(t []float64) []float64 {
	if len(t) != 3*len(faceMirror) {
		return t
	}
	out := make([]float64, len(t))
	for i, j := range faceMirror {
		copy(out[3*j:3*j+3], t[3*i:3*i+3])
	}
	return out
}
