package schedule

import "math"

// spacedTimesteps returns n descending timesteps per the config's spacing
// (diffusers' set_timesteps). plusOne is DPM-Solver's variant for leading
// and linspace: space n+1 points and drop the last (t≈0).
// steps_offset applies to "leading" only, as in diffusers.
func (s *Schedule) spacedTimesteps(n int, plusOne bool) []float64 {
	T := s.cfg.NumTrainTimesteps
	switch s.cfg.Spacing {
	case Linspace:
		if plusOne {
			t := reversed(roundAll(linspace(0, float64(T-1), n+1, true)))
			return t[:n]
		}
		return reversed(linspace(0, float64(T-1), n, true))
	case Trailing:
		t := roundAll(arange(float64(T), 0, -float64(T)/float64(n)))
		for i := range t {
			t[i]--
		}
		return t
	default: // Leading
		m := n
		if plusOne {
			m = n + 1
		}
		ratio := T / m
		t := make([]float64, m)
		for i := range t {
			t[m-1-i] = float64(i*ratio + s.cfg.StepsOffset)
		}
		return t[:n]
	}
}

// karrasSigmas is Karras et al. (2022) eq. 5 with ρ = 7, from sigmaMax down
// to sigmaMin in n steps.
func karrasSigmas(sigmaMin, sigmaMax float64, n int) []float64 {
	const rho = 7.0
	ramp := linspace(0, 1, n, true)
	lo, hi := math.Pow(sigmaMin, 1/rho), math.Pow(sigmaMax, 1/rho)
	out := make([]float64, n)
	for i, r := range ramp {
		out[i] = math.Pow(hi+r*(lo-hi), rho)
	}
	return out
}

// sigmaToT maps a noise level back to a (fractional) training timestep by
// interpolating log σ, as diffusers' _sigma_to_t.
func (s *Schedule) sigmaToT(sigma float64) float64 {
	ls := s.logSigmas
	logSigma := math.Log(math.Max(sigma, 1e-10))
	// low: the last index whose log σ does not exceed logSigma (0 if none),
	// capped so that low+1 exists.
	low := 0
	for i, v := range ls {
		if logSigma-v >= 0 {
			low = i
		}
	}
	low = min(low, len(ls)-2)
	high := low + 1
	w := (ls[low] - logSigma) / (ls[low] - ls[high])
	w = math.Max(0, math.Min(1, w))
	return (1-w)*float64(low) + w*float64(high)
}

// sigmaAt is σ at a fractional timestep (linear interpolation of the table).
func (s *Schedule) sigmaAt(t float64) float64 { return interp(t, s.sigmas) }
