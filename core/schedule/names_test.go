package schedule

import "testing"

func TestDisplayNames(t *testing.T) {
	for _, k := range Kinds {
		for _, karras := range []bool{false, true} {
			if karras && k != Euler && k != DPMPP2M {
				continue
			}
			name := DisplayName(k, karras)
			gk, gkarras, err := ParseDisplayName(name, "")
			if err != nil || gk != k || gkarras != karras {
				t.Errorf("ParseDisplayName(%q) = %s, %v, %v; want %s, %v", name, gk, gkarras, err, k, karras)
			}
		}
	}
	for _, c := range []struct {
		name, sched string
		kind        Kind
		karras      bool
	}{
		{"DPM++ 2M", "Karras", DPMPP2M, true},
		{"Euler a", "Automatic", EulerAncestral, false},
		{"euler_a", "", EulerAncestral, false},
		{"dpm++ 2m karras", "", DPMPP2M, true},
	} {
		k, kr, err := ParseDisplayName(c.name, c.sched)
		if err != nil || k != c.kind || kr != c.karras {
			t.Errorf("ParseDisplayName(%q, %q) = %s, %v, %v", c.name, c.sched, k, kr, err)
		}
	}
	for _, bad := range [][2]string{{"Heun", ""}, {"DDIM Karras", ""}, {"Euler", "Exponential"}, {"", ""}} {
		if _, _, err := ParseDisplayName(bad[0], bad[1]); err == nil {
			t.Errorf("ParseDisplayName(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
