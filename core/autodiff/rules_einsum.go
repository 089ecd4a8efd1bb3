package autodiff

import (
	"fmt"
	"slices"
	"strings"
)

// einsumSpec is a parsed Einsum equation: one index string per operand and
// the output's.
type einsumSpec struct {
	ins []string
	out string
}

// parseEinsum reads an equation with explicit or implicit output. Ellipsis
// and repeated indices within one operand (diagonals, traces) are not
// supported: their gradients are not Einsums of the same kind.
func parseEinsum(eq string) (einsumSpec, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	if strings.Contains(eq, ".") {
		return einsumSpec{}, fmt.Errorf("Einsum %q: ellipsis is not supported", eq)
	}
	lhs, out, explicit := strings.Cut(eq, "->")
	var s einsumSpec
	s.ins = strings.Split(lhs, ",")
	count := map[rune]int{}
	for _, in := range s.ins {
		seen := map[rune]bool{}
		for _, r := range in {
			if !isEinsumLetter(r) {
				return s, fmt.Errorf("Einsum %q: bad index %q", eq, r)
			}
			if seen[r] {
				return s, fmt.Errorf("Einsum %q: index %c repeats within one operand (diagonal) — not supported", eq, r)
			}
			seen[r] = true
			count[r]++
		}
	}
	if explicit {
		for _, r := range out {
			if !isEinsumLetter(r) || count[r] == 0 || strings.Count(out, string(r)) > 1 {
				return s, fmt.Errorf("Einsum %q: bad output index %q", eq, r)
			}
		}
		s.out = out
	} else {
		// Implicit output: the indices seen once, in alphabetical order.
		var once []rune
		for r, n := range count {
			if n == 1 {
				once = append(once, r)
			}
		}
		slices.Sort(once)
		s.out = string(once)
	}
	return s, nil
}

func isEinsumLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// einsumGrad: Einsum is multilinear, so the gradient of operand k is the
// Einsum of the output gradient with all the other operands, written to
// operand k's indices: dX_k = einsum(G, X_j≠k → idx_k). Indices of X_k that
// appear in no other operand and not in the output were summed over X_k
// alone; they do not reach that Einsum, whose result is instead broadcast
// back along them (every summed element gets the same gradient).
func einsumGrad(c *ruleCtx) ([]string, error) {
	eqAttr := attr(c.n, "equation")
	if eqAttr == nil {
		return nil, fmt.Errorf("Einsum without an equation")
	}
	s, err := parseEinsum(string(eqAttr.GetS()))
	if err != nil {
		return nil, err
	}
	if len(s.ins) != len(c.n.GetInput()) {
		return nil, fmt.Errorf("Einsum equation has %d operands, the node %d inputs", len(s.ins), len(c.n.GetInput()))
	}
	size := map[rune]int64{}
	for k, idx := range s.ins {
		d := c.dims(c.in(k))
		if len(d) != len(idx) {
			return nil, fmt.Errorf("Einsum operand %d has rank %d, the equation %d indices", k, len(d), len(idx))
		}
		for i, r := range idx {
			if prev, ok := size[r]; ok && prev != d[i] {
				// numpy-style broadcasting of size-1 axes between
				// operands would need a reduction here.
				return nil, fmt.Errorf("Einsum index %c has sizes %d and %d (broadcasting is not supported)", r, prev, d[i])
			}
			size[r] = d[i]
		}
	}
	gs := c.grads()
	for k := range s.ins {
		if !c.need[k] {
			continue
		}
		others := s.out
		operands := []string{c.g()}
		terms := []string{s.out}
		for j, idx := range s.ins {
			if j != k {
				operands = append(operands, c.in(j))
				terms = append(terms, idx)
				others += idx
			}
		}
		var kept []rune
		var keptDims []int64
		for _, r := range s.ins[k] {
			if strings.ContainsRune(others, r) {
				kept = append(kept, r)
				keptDims = append(keptDims, size[r])
			}
		}
		xd := c.dims(c.in(k))
		eq := strings.Join(terms, ",") + "->" + string(kept)
		var g string
		if len(operands) == 1 && string(kept) == s.out {
			g = c.g() // the output gradient is already in place
		} else {
			g = c.e.node("Einsum", keptDims, c.dt(), operands, attrString("equation", eq))
		}
		if len(kept) != len(s.ins[k]) {
			// Size-1 axes where the summed-out indices were, then Expand.
			withOnes := make([]int64, len(xd))
			for i, r := range s.ins[k] {
				withOnes[i] = 1
				if slices.Contains(kept, r) {
					withOnes[i] = xd[i]
				}
			}
			g = c.reshape(g, withOnes)
			g = c.op("Expand", xd, g, c.e.constI64("shape", xd))
		}
		gs[k] = g
	}
	return gs, nil
}
