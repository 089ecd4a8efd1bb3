package service

import (
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/ort"
)

func TestDiagnostics(t *testing.T) {
	s := New(Config{DataDir: "/data/here"})
	d := s.Diagnostics()
	if !d.OK() {
		t.Fatalf("diagnostics not OK (run with `make test`): %+v", d)
	}
	if d.ORTVersion != ort.TestedVersion || d.ORTLibrary == "" {
		t.Fatalf("runtime %q at %q", d.ORTVersion, d.ORTLibrary)
	}
	text := d.Text()
	for _, want := range []string{"OneActor Desktop", "ONNX Runtime:  " + ort.TestedVersion, "/data/here", "requested: auto"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if d.Provider == "CPU" && !strings.Contains(text, "running on CPU because: ") {
		t.Errorf("CPU fallback without its reason:\n%s", text)
	}

	cpu := New(Config{Provider: ort.ProviderCPU}).Diagnostics()
	if cpu.Provider != "CPU" || !strings.Contains(cpu.ProviderReason, "requested") {
		t.Errorf("cpu requested: %+v", cpu)
	}
	if ok, _ := s.rt.CUDAStatus(); !ok {
		cuda := New(Config{Provider: ort.ProviderCUDA}).Diagnostics()
		if cuda.OK() || !strings.Contains(cuda.Text(), "CUDA was requested but cannot be used") {
			t.Errorf("cuda requested without CUDA:\n%s", cuda.Text())
		}
	}
}
