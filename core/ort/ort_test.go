package ort

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/x448/float16"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// testRuntime loads ONNX Runtime the way the app does. `make test` links the
// downloaded library's folder in (BundledDir); plain `go test` needs
// ONNXRUNTIME_LIB. A missing library fails the test: it must not pass
// silently without the runtime.
func testRuntime(t testing.TB) *Runtime {
	t.Helper()
	rt, err := Init()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v\n(run the tests with `make test`, which downloads it)", err)
	}
	return rt
}

func cpu() SessionOptions { return SessionOptions{Provider: ProviderCPU} }

func randFloats(r *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}

func newFloat(t testing.TB, data []float32, shape ...int64) *Tensor {
	t.Helper()
	x, err := NewTensor(onnx.Float, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.SetFloat32(data); err != nil {
		t.Fatal(err)
	}
	return x
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %g)", what, i, got[i], want[i], d)
		}
	}
}

func TestVersionAndPath(t *testing.T) {
	rt := testRuntime(t)
	if rt.Version != TestedVersion {
		t.Errorf("ONNX Runtime version %q, want %q", rt.Version, TestedVersion)
	}
	if !filepath.IsAbs(rt.LibraryPath) || rt.Source == "" {
		t.Errorf("library %q from %q", rt.LibraryPath, rt.Source)
	}
}

// y = softmax(x·W + b) on the last axis, against a plain Go computation.
func TestMatMulAddSoftmax(t *testing.T) {
	rt := testRuntime(t)
	r := rand.New(rand.NewSource(1))
	const n, k, m = 3, 5, 4
	w, bias, x := randFloats(r, k*m), randFloats(r, m), randFloats(r, n*k)

	b := onnx.NewBuilder("mlp", 17)
	in := b.Input("x", onnx.Float, "n", k)
	mm := b.Node("MatMul", []string{in, b.Initializer(onnx.TensorFloat32("w", []int64{k, m}, w))})
	add := b.Node("Add", []string{mm, b.Initializer(onnx.TensorFloat32("b", []int64{m}, bias))})
	b.OutputAs("y", b.Node("Softmax", []string{add}, onnx.AttrInt("axis", -1)), onnx.Float, "n", m)
	model, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSessionFromModel(model, cpu())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	want := make([]float32, n*m)
	for i := 0; i < n; i++ {
		row := make([]float64, m)
		maxv := math.Inf(-1)
		for j := 0; j < m; j++ {
			acc := float64(bias[j])
			for p := 0; p < k; p++ {
				acc += float64(x[i*k+p]) * float64(w[p*m+j])
			}
			row[j] = acc
			maxv = math.Max(maxv, acc)
		}
		sum := 0.0
		for j := range row {
			row[j] = math.Exp(row[j] - maxv)
			sum += row[j]
		}
		for j := range row {
			want[i*m+j] = float32(row[j] / sum)
		}
	}
	out, err := s.Output("y", n, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), Feeds{"x": newFloat(t, x, n, k)}, Feeds{"y": out}); err != nil {
		t.Fatal(err)
	}
	assertClose(t, "softmax", out.Float32s(), want, 1e-5)
}

// A strided, padded, grouped, dilated Conv against a direct convolution.
func TestConv(t *testing.T) {
	rt := testRuntime(t)
	r := rand.New(rand.NewSource(2))
	const (
		N, C, H, W   = 2, 4, 9, 8
		F, KH, KW, G = 6, 3, 3, 2
		stride, pad  = 2, 1
		dil          = 2
	)
	x, wt, bias := randFloats(r, N*C*H*W), randFloats(r, F*(C/G)*KH*KW), randFloats(r, F)
	b := onnx.NewBuilder("conv", 17)
	in := b.Input("x", onnx.Float, N, C, H, W)
	c := b.Node("Conv", []string{in,
		b.Initializer(onnx.TensorFloat32("w", []int64{F, C / G, KH, KW}, wt)),
		b.Initializer(onnx.TensorFloat32("b", []int64{F}, bias))},
		onnx.AttrInts("strides", stride, stride), onnx.AttrInts("pads", pad, pad, pad, pad),
		onnx.AttrInts("dilations", dil, dil), onnx.AttrInt("group", G))
	b.Output(c)
	vi, _ := b.Info(c)
	shape, ok := vi.Static()
	if !ok {
		t.Fatalf("conv output shape not inferred: %s", vi)
	}
	OH, OW := int(shape[2]), int(shape[3])
	if OH != (H+2*pad-dil*(KH-1)-1)/stride+1 || OW != (W+2*pad-dil*(KW-1)-1)/stride+1 {
		t.Fatalf("inferred %v", shape)
	}
	model, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSessionFromModel(model, cpu())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := Feeds{}
	if err := s.Run(context.Background(), Feeds{"x": newFloat(t, x, N, C, H, W)}, out); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, N*F*OH*OW)
	cg := C / G
	for n := 0; n < N; n++ {
		for f := 0; f < F; f++ {
			g := f / (F / G)
			for oy := 0; oy < OH; oy++ {
				for ox := 0; ox < OW; ox++ {
					acc := float64(bias[f])
					for ci := 0; ci < cg; ci++ {
						for ky := 0; ky < KH; ky++ {
							for kx := 0; kx < KW; kx++ {
								iy, ix := oy*stride-pad+ky*dil, ox*stride-pad+kx*dil
								if iy < 0 || iy >= H || ix < 0 || ix >= W {
									continue
								}
								acc += float64(x[((n*C+g*cg+ci)*H+iy)*W+ix]) *
									float64(wt[((f*cg+ci)*KH+ky)*KW+kx])
							}
						}
					}
					want[((n*F+f)*OH+oy)*OW+ox] = float32(acc)
				}
			}
		}
	}
	assertClose(t, "conv", out[c].Float32s(), want, 1e-4)
}

// float16 in, float16 out, float16 weights: y = x*w + 1 computed in float32
// inside the graph, rounded to half precision at the edges.
func TestFloat16RoundTrip(t *testing.T) {
	rt := testRuntime(t)
	r := rand.New(rand.NewSource(3))
	const n = 257
	x, w := randFloats(r, n), randFloats(r, n)
	b := onnx.NewBuilder("fp16", 17)
	in := b.Input("x", onnx.Float16, n)
	wf := b.Node("Cast", []string{b.Initializer(onnx.TensorFloat16("w", []int64{n}, w))}, onnx.AttrInt("to", int64(onnx.Float)))
	xf := b.Node("Cast", []string{in}, onnx.AttrInt("to", int64(onnx.Float)))
	y := b.Node("Add", []string{b.Node("Mul", []string{xf, wf}), b.Initializer(onnx.TensorFloat32("one", nil, []float32{1}))})
	b.OutputAs("y", b.Node("Cast", []string{y}, onnx.AttrInt("to", int64(onnx.Float16))), onnx.Float16, n)
	model, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fp16.onnx")
	if err := model.Save(path); err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(path, cpu())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if vi, _ := s.Signature().Input("x"); vi.Type != onnx.Float16 {
		t.Fatalf("input type read from file: %s", vi)
	}
	xt, err := NewTensor(onnx.Float16, n)
	if err != nil {
		t.Fatal(err)
	}
	defer xt.Destroy()
	xt.SetFloat32(x)
	out := Feeds{}
	if err := s.Run(context.Background(), Feeds{"x": xt}, out); err != nil {
		t.Fatal(err)
	}
	if out["y"].DType() != onnx.Float16 || len(out["y"].Bytes()) != 2*n {
		t.Fatalf("output %s with %d bytes", out["y"].DType(), len(out["y"].Bytes()))
	}
	got, _ := out["y"].ReadFloat32(nil)
	want := make([]float32, n)
	for i := range want {
		xh := float16.Fromfloat32(x[i]).Float32()
		wh := float16.Fromfloat32(w[i]).Float32()
		want[i] = float16.Fromfloat32(xh*wh + 1).Float32()
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("y[%d] = %v, want %v (bit-exact half precision)", i, got[i], want[i])
		}
	}
}

func TestExternalDataModelsRun(t *testing.T) {
	rt := testRuntime(t)
	r := rand.New(rand.NewSource(4))
	const k, m = 128, 64
	w := randFloats(r, k*m)
	x := randFloats(r, k)
	want := make([]float32, m)
	for j := 0; j < m; j++ {
		var acc float64
		for p := 0; p < k; p++ {
			acc += float64(x[p]) * float64(w[p*m+j])
		}
		want[j] = float32(acc)
	}
	for _, loc := range []string{onnx.WeightsPB, onnx.ModelOnnxData} {
		t.Run(loc, func(t *testing.T) {
			b := onnx.NewBuilder("ext", 17)
			y := b.Node("MatMul", []string{b.Input("x", onnx.Float, 1, k), b.Initializer(onnx.TensorFloat32("w", []int64{k, m}, w))})
			b.Output(y)
			model, _ := b.Model()
			dir := t.TempDir()
			path := filepath.Join(dir, "model.onnx")
			if err := model.SaveWithExternalData(path, onnx.ExternalOptions{Location: loc}); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(filepath.Join(dir, loc)); err != nil || st.Size() < k*m*4 {
				t.Fatalf("weights not in %s: %v", loc, err)
			}
			if st, _ := os.Stat(path); st.Size() > 2048 {
				t.Fatalf("model file still holds the weights (%d bytes)", st.Size())
			}
			s, err := rt.NewSession(path, cpu())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			out := Feeds{}
			if err := s.Run(context.Background(), Feeds{"x": newFloat(t, x, 1, k)}, out); err != nil {
				t.Fatal(err)
			}
			assertClose(t, "matmul", out[y].Float32s(), want, 1e-4)

			// Without its weights file the signature still reads, but ONNX
			// Runtime cannot load the model and says so.
			os.Remove(filepath.Join(dir, loc))
			if _, err := onnx.ReadSignature(path); err != nil {
				t.Fatalf("signature without weights: %v", err)
			}
			_, err = rt.NewSession(path, cpu())
			var me *ModelError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), path) {
				t.Fatalf("want ModelError naming %s, got %v", path, err)
			}
		})
	}
}

// A rank-0 input (optimum's timestep) and an int64 input (token ids).
func TestScalarAndIntegerInputs(t *testing.T) {
	rt := testRuntime(t)
	b := onnx.NewBuilder("scalar", 17)
	ts := b.Input("timestep", onnx.Int64)
	ids := b.Input("input_ids", onnx.Int64, 1, 4)
	sum := b.Node("Add", []string{ids, ts})
	b.Output(sum)
	f := b.Node("Cast", []string{ts}, onnx.AttrInt("to", int64(onnx.Float)))
	b.OutputAs("tf", f, onnx.Float)
	model, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSessionFromModel(model, cpu())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tt, _ := NewTensor(onnx.Int64)
	it, _ := NewTensor(onnx.Int64, 1, 4)
	it.SetInt64([]int64{1, 2, 3, 4})
	for _, step := range []int64{999, 500} {
		tt.Int64s()[0] = step
		out := Feeds{}
		if err := s.Run(context.Background(), Feeds{"timestep": tt, "input_ids": it}, out); err != nil {
			t.Fatal(err)
		}
		if got := out[sum].Int64s(); got[0] != step+1 || got[3] != step+4 {
			t.Fatalf("step %d: %v", step, got)
		}
		if got := out["tf"].Float32s()[0]; got != float32(step) {
			t.Fatalf("scalar output %v, want %d", got, step)
		}
	}
}

func TestRunChecksInputs(t *testing.T) {
	rt := testRuntime(t)
	b := onnx.NewBuilder("id", 17)
	b.Output(b.Node("Relu", []string{b.Input("x", onnx.Float, 2)}))
	model, _ := b.Model()
	s, err := rt.NewSessionFromModel(model, cpu())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wrong, _ := NewTensor(onnx.Int64, 2)
	ctx := context.Background()
	if err := s.Run(ctx, Feeds{"x": wrong}, nil); err == nil || !strings.Contains(err.Error(), "float32 in the model, got int64") {
		t.Errorf("dtype mismatch: %v", err)
	}
	if err := s.Run(ctx, Feeds{}, nil); err == nil || !strings.Contains(err.Error(), `input "x"`) {
		t.Errorf("missing input: %v", err)
	}
	ok := newFloat(t, []float32{1, -1}, 2)
	if err := s.Run(ctx, Feeds{"x": ok, "y": ok}, nil); err == nil || !strings.Contains(err.Error(), `no input "y"`) {
		t.Errorf("unknown input: %v", err)
	}
}

// The sampling loop calls Run hundreds of times: with session-owned outputs
// and reused inputs, a call must not allocate anything tensor-sized.
func TestRunReusesBuffers(t *testing.T) {
	rt := testRuntime(t)
	const n = 1 << 18 // 1 MiB of float32
	b := onnx.NewBuilder("big", 17)
	b.Output(b.Node("Neg", []string{b.Input("x", onnx.Float, n)}))
	model, _ := b.Model()
	s, err := rt.NewSessionFromModel(model, cpu())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := newFloat(t, make([]float32, n), n)
	name := s.Signature().Outputs[0].Name
	out, _ := s.Output(name)
	ctx := context.Background()
	in, outs := Feeds{"x": x}, Feeds{name: out}
	if err := s.Run(ctx, in, outs); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Output(name); again != out {
		t.Fatal("Output returned a new tensor for the same shape")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 20
	for i := 0; i < runs; i++ {
		x.Float32s()[0] = float32(i)
		if err := s.Run(ctx, in, outs); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perRun := (after.TotalAlloc - before.TotalAlloc) / runs
	if perRun > 16<<10 {
		t.Fatalf("Run allocates %d bytes per call of Go memory; want tensor buffers reused", perRun)
	}
	if out.Float32s()[0] != -float32(runs-1) {
		t.Fatalf("output not written in place: %v", out.Float32s()[0])
	}
	t.Logf("Go allocation per Run: %d bytes (tensor: %d bytes)", perRun, 4*n)
}

// A deliberately long run (a chain of large MatMuls) stops within
// milliseconds of the context being cancelled.
func TestCancelStopsLongRun(t *testing.T) {
	rt := testRuntime(t)
	const d, depth = 384, 400
	r := rand.New(rand.NewSource(5))
	w := randFloats(r, d*d)
	for i := range w {
		w[i] /= float32(math.Sqrt(d))
	}
	b := onnx.NewBuilder("long", 17)
	v := b.Input("x", onnx.Float, d, d)
	wn := b.Initializer(onnx.TensorFloat32("w", []int64{d, d}, w))
	for i := 0; i < depth; i++ {
		v = b.Node("MatMul", []string{v, wn})
	}
	b.Output(v)
	model, _ := b.Model()
	s, err := rt.NewSessionFromModel(model, SessionOptions{Provider: ProviderCPU, OptLevel: OptBasic})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := newFloat(t, randFloats(r, d*d), d, d)

	// Calibrate: how long does the whole chain take?
	start := time.Now()
	if err := s.Run(context.Background(), Feeds{"x": x}, nil); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)

	ctx, cancel := context.WithCancel(context.Background())
	delay := full / 4
	timer := time.AfterFunc(delay, cancel)
	defer timer.Stop()
	start = time.Now()
	err = s.Run(ctx, Feeds{"x": x}, nil)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want ErrCanceled after cancel, got %v (full run %v)", err, full)
	}
	if stopLag := elapsed - delay; stopLag > time.Second {
		t.Fatalf("run stopped %v after cancel; want < 1s", stopLag)
	}
	t.Logf("full run %v; cancelled at %v, returned after %v", full, delay, elapsed)

	// The session still works after a cancelled run.
	if err := s.Run(context.Background(), Feeds{"x": x}, nil); err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	// An already-cancelled context never starts.
	if err := s.Run(ctx, Feeds{"x": x}, nil); !errors.Is(err, ErrCanceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// This library has no CUDA provider next to it, so auto falls back to CPU
// and keeps ONNX Runtime's own words; an explicit cuda request fails.
func TestProviderFallback(t *testing.T) {
	rt := testRuntime(t)
	if ok, _ := rt.CUDAStatus(); ok {
		t.Logf("CUDA is available here; fallback not exercised")
		return
	}
	b := onnx.NewBuilder("p", 17)
	b.Output(b.Node("Relu", []string{b.Input("x", onnx.Float, 2)}))
	model, _ := b.Model()
	s, err := rt.NewSessionFromModel(model, SessionOptions{Provider: ProviderAuto})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, reason := rt.CUDAStatus()
	if s.Provider() != ProviderCPU || s.FallbackReason() == "" || reason == "" {
		t.Fatalf("provider %s, fallback %q, status %q", s.Provider(), s.FallbackReason(), reason)
	}
	t.Logf("running on CPU because: %s", s.FallbackReason())
	if _, err := rt.NewSessionFromModel(model, SessionOptions{Provider: ProviderCUDA}); err == nil {
		t.Fatal("explicit CUDA without a CUDA provider must fail")
	}
	if _, err := ParseProvider("tpu"); err == nil {
		t.Fatal("unknown provider accepted")
	}
}
