package schedule

import (
	"fmt"
	"strings"
)

// a1111Names are the sampler names AUTOMATIC1111 writes into recipes (and
// users know from it), for the base samplers.
var a1111Names = map[Kind]string{
	Euler: "Euler", EulerAncestral: "Euler a", DDIM: "DDIM", DPMPP2M: "DPM++ 2M", LCM: "LCM",
}

// DisplayName is the A1111 name of a sampler, e.g. "DPM++ 2M Karras".
func DisplayName(kind Kind, karras bool) string {
	name, ok := a1111Names[kind]
	if !ok {
		name = string(kind)
	}
	if karras {
		name += " Karras"
	}
	return name
}

// ParseDisplayName reads a sampler name as A1111 writes it ("Euler a",
// "DPM++ 2M Karras") or as this package spells kinds ("euler_a").
// scheduleType is A1111 ≥ 1.9's separate "Schedule type" field ("Karras",
// "Automatic" or empty).
func ParseDisplayName(name, scheduleType string) (kind Kind, karras bool, err error) {
	n := strings.TrimSpace(name)
	if len(n) > len(" karras") && strings.EqualFold(n[len(n)-len(" karras"):], " karras") {
		n, karras = n[:len(n)-len(" karras")], true
	}
	switch strings.ToLower(strings.TrimSpace(scheduleType)) {
	case "karras":
		karras = true
	case "", "automatic", "uniform", "discrete":
	default:
		return "", false, fmt.Errorf("schedule type %q is not supported", scheduleType)
	}
	for k, v := range a1111Names {
		if strings.EqualFold(n, v) || strings.EqualFold(n, string(k)) {
			kind = k
		}
	}
	if kind == "" {
		return "", false, fmt.Errorf("sampler %q is not supported (supported: Euler, Euler a, DDIM, DPM++ 2M [Karras], LCM)", name)
	}
	if karras && kind != Euler && kind != DPMPP2M {
		return "", false, fmt.Errorf("sampler %q: Karras sigmas are available for Euler and DPM++ 2M only", name)
	}
	return kind, karras, nil
}
