package ort

import (
	"fmt"
	"unsafe"

	"github.com/x448/float16"
	ortgo "github.com/yalue/onnxruntime_go"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// Tensor is a CPU tensor whose memory Go owns and ONNX Runtime reads and
// writes in place. Create one per input/output and reuse it across Run
// calls: writing new values into it costs no allocation.
type Tensor struct {
	dtype onnx.DataType
	shape []int64
	value ortgo.Value

	f32 []float32
	f64 []float64
	i32 []int32
	i64 []int64
	raw []byte // float16, uint8 and bool element bytes

	// sync moves a scalar's value to (true) or from (false) the binding's
	// store; nil for tensors, whose memory is shared directly.
	sync func(t *Tensor, toORT bool) error
}

// NewTensor allocates a zero tensor of the given element type and shape.
// Supported: float32, float16, float64, int32, int64, uint8, bool.
// A rank-0 shape makes a scalar (not available for float16: the Go binding
// cannot create 0-d tensors of custom types).
func NewTensor(dtype onnx.DataType, shape ...int64) (*Tensor, error) {
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("tensor shape %v has a negative dimension", shape)
		}
	}
	if _, ok := Current(); !ok {
		return nil, fmt.Errorf("create tensor: ONNX Runtime is not initialised (call ort.Init first)")
	}
	t := &Tensor{dtype: dtype, shape: append([]int64{}, shape...)}
	n := onnx.NumElements(shape)
	s := ortgo.NewShape(shape...)
	var err error
	scalar := len(shape) == 0
	switch dtype {
	case onnx.Float:
		t.value, t.f32, t.sync, err = typed[float32](s, n, scalar)
	case onnx.Double:
		t.value, t.f64, t.sync, err = typed[float64](s, n, scalar)
	case onnx.Int32:
		t.value, t.i32, t.sync, err = typed[int32](s, n, scalar)
	case onnx.Int64:
		t.value, t.i64, t.sync, err = typed[int64](s, n, scalar)
	case onnx.Float16, onnx.Uint8, onnx.Bool:
		if scalar {
			return nil, fmt.Errorf("rank-0 %s tensors are not supported by the ONNX Runtime Go binding; "+
				"use a rank-1 tensor of one element", dtype)
		}
		if n == 0 {
			return nil, fmt.Errorf("empty %s tensors are not supported", dtype)
		}
		t.raw = make([]byte, n*int64(dtype.Size()))
		t.value, err = ortgo.NewCustomDataTensor(s, t.raw, ortgo.TensorElementDataType(dtype))
	default:
		return nil, fmt.Errorf("tensor element type %s is not supported", dtype)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s tensor %v: %w", dtype, shape, err)
	}
	return t, nil
}

// typed creates a binding tensor over a Go slice it returns. For a scalar
// the binding keeps its own one-element store, so the Tensor gets a slice of
// its own and sync moves the value across around each Run.
func typed[T float32 | float64 | int32 | int64](s ortgo.Shape, n int64, scalar bool) (ortgo.Value, []T, func(*Tensor, bool) error, error) {
	if scalar {
		v, err := ortgo.NewEmptyScalar[T]()
		if err != nil {
			return nil, nil, nil, err
		}
		data := make([]T, 1)
		sync := func(t *Tensor, toORT bool) error {
			cur := t.value.(*ortgo.Scalar[T])
			if !toORT {
				data[0] = cur.GetData()
				return nil
			}
			if cur.GetData() == data[0] {
				return nil
			}
			// Scalar.Set swaps in a new Go slice that ONNX Runtime never
			// sees, so a changed input value needs a new scalar.
			next, err := ortgo.NewScalar(data[0])
			if err != nil {
				return err
			}
			cur.Destroy()
			t.value = next
			return nil
		}
		return v, data, sync, nil
	}
	data := make([]T, n)
	v, err := ortgo.NewTensor(s, data)
	if err != nil {
		return nil, nil, nil, err
	}
	return v, v.GetData(), nil, nil
}

// DType is the element type.
func (t *Tensor) DType() onnx.DataType { return t.dtype }

// Shape is the tensor's shape (do not modify).
func (t *Tensor) Shape() []int64 { return t.shape }

// Len is the number of elements.
func (t *Tensor) Len() int { return int(onnx.NumElements(t.shape)) }

// Float32s is the float32 data, shared with ONNX Runtime (nil for other types).
func (t *Tensor) Float32s() []float32 { return t.f32 }

// Float64s is the float64 data (nil for other types).
func (t *Tensor) Float64s() []float64 { return t.f64 }

// Int32s is the int32 data (nil for other types).
func (t *Tensor) Int32s() []int32 { return t.i32 }

// Int64s is the int64 data (nil for other types).
func (t *Tensor) Int64s() []int64 { return t.i64 }

// Bytes is the raw element data of float16, uint8 and bool tensors.
func (t *Tensor) Bytes() []byte { return t.raw }

// Float16Bits views a float16 tensor's data as IEEE half-precision bit
// patterns (nil for other types).
func (t *Tensor) Float16Bits() []uint16 {
	if t.dtype != onnx.Float16 || len(t.raw) == 0 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&t.raw[0])), len(t.raw)/2)
}

// SetFloat32 writes float values into a float32, float16 or float64 tensor,
// converting as needed (float16: round to nearest even).
func (t *Tensor) SetFloat32(src []float32) error {
	if len(src) != t.Len() {
		return fmt.Errorf("set tensor %v: %d values for %d elements", t.shape, len(src), t.Len())
	}
	switch t.dtype {
	case onnx.Float:
		copy(t.f32, src)
	case onnx.Float16:
		h := t.Float16Bits()
		for i, v := range src {
			h[i] = float16.Fromfloat32(v).Bits()
		}
	case onnx.Double:
		for i, v := range src {
			t.f64[i] = float64(v)
		}
	default:
		return fmt.Errorf("set tensor: %s is not a float type", t.dtype)
	}
	return nil
}

// ReadFloat32 copies a float tensor's values into dst as float32 (dst is
// grown when too short) and returns it, converting float16/float64.
func (t *Tensor) ReadFloat32(dst []float32) ([]float32, error) {
	n := t.Len()
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	switch t.dtype {
	case onnx.Float:
		copy(dst, t.f32)
	case onnx.Float16:
		for i, h := range t.Float16Bits() {
			dst[i] = float16.Frombits(h).Float32()
		}
	case onnx.Double:
		for i, v := range t.f64 {
			dst[i] = float32(v)
		}
	default:
		return nil, fmt.Errorf("read tensor: %s is not a float type", t.dtype)
	}
	return dst, nil
}

// SetInt64 writes integer values into an int64 or int32 tensor.
func (t *Tensor) SetInt64(src []int64) error {
	if len(src) != t.Len() {
		return fmt.Errorf("set tensor %v: %d values for %d elements", t.shape, len(src), t.Len())
	}
	switch t.dtype {
	case onnx.Int64:
		copy(t.i64, src)
	case onnx.Int32:
		for i, v := range src {
			t.i32[i] = int32(v)
		}
	default:
		return fmt.Errorf("set tensor: %s is not an integer type", t.dtype)
	}
	return nil
}

// Destroy frees the ONNX Runtime side of the tensor.
func (t *Tensor) Destroy() {
	if t != nil && t.value != nil {
		t.value.Destroy()
		t.value = nil
	}
}

// wrapValue adopts a tensor the binding allocated for an output of dynamic
// shape (its data already copied into Go memory by the binding).
func wrapValue(v ortgo.Value) (*Tensor, error) {
	if v == nil {
		return nil, fmt.Errorf("no value returned")
	}
	t := &Tensor{value: v, shape: []int64(v.GetShape())}
	switch x := v.(type) {
	case *ortgo.Tensor[float32]:
		t.dtype, t.f32 = onnx.Float, x.GetData()
	case *ortgo.Tensor[float64]:
		t.dtype, t.f64 = onnx.Double, x.GetData()
	case *ortgo.Tensor[int32]:
		t.dtype, t.i32 = onnx.Int32, x.GetData()
	case *ortgo.Tensor[int64]:
		t.dtype, t.i64 = onnx.Int64, x.GetData()
	default:
		v.Destroy()
		return nil, fmt.Errorf("output of type %T cannot be returned with a dynamic shape", v)
	}
	return t, nil
}
