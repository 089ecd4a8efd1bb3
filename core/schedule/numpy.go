package schedule

import "math"

// The helpers below reproduce numpy's float64 arithmetic (the reference the
// goldens come from) operation for operation, so that rounding of spaced
// timesteps lands on the same integer even at .5 boundaries.

// linspace is numpy.linspace(start, stop, num, endpoint).
func linspace(start, stop float64, num int, endpoint bool) []float64 {
	y := make([]float64, num)
	div := num
	if endpoint {
		div = num - 1
	}
	if div <= 0 {
		for i := range y {
			y[i] = start
		}
		return y
	}
	step := (stop - start) / float64(div)
	for i := range y {
		y[i] = float64(i)*step + start
	}
	if endpoint && num > 1 {
		y[num-1] = stop
	}
	return y
}

// arange is numpy.arange(start, stop, step) for float64: the length is
// ceil((stop-start)/step) and values are start + i*delta with delta taken
// from the first two values, as numpy's fill does.
func arange(start, stop, step float64) []float64 {
	n := int(math.Ceil((stop - start) / step))
	if n <= 0 {
		return nil
	}
	y := make([]float64, n)
	y[0] = start
	if n > 1 {
		delta := (start + step) - start
		for i := 1; i < n; i++ {
			y[i] = start + float64(i)*delta
		}
	}
	return y
}

// roundAll is numpy.round: halves go to the even neighbour.
func roundAll(x []float64) []float64 {
	for i, v := range x {
		x[i] = math.RoundToEven(v)
	}
	return x
}

func reversed(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[len(x)-1-i] = v
	}
	return out
}

// interp is numpy.interp(x, arange(len(fp)), fp).
func interp(x float64, fp []float64) float64 {
	n := len(fp)
	switch {
	case x <= 0:
		return fp[0]
	case x >= float64(n-1):
		return fp[n-1]
	}
	j := int(math.Floor(x))
	if x == float64(j) {
		return fp[j]
	}
	slope := fp[j+1] - fp[j]
	return slope*(x-float64(j)) + fp[j]
}
