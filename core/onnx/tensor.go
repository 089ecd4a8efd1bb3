package onnx

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/x448/float16"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// TensorFloat32 makes a float32 tensor (raw little-endian data).
func TensorFloat32(name string, dims []int64, data []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return rawTensor(name, Float, dims, raw)
}

// TensorFloat16 makes a float16 tensor from float32 values (round to nearest
// even, as IEEE 754 and torch's .half() do).
func TensorFloat16(name string, dims []int64, data []float32) *onnxpb.TensorProto {
	raw := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(raw[2*i:], float16.Fromfloat32(v).Bits())
	}
	return rawTensor(name, Float16, dims, raw)
}

// TensorFloat64 makes a float64 tensor.
func TensorFloat64(name string, dims []int64, data []float64) *onnxpb.TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	return rawTensor(name, Double, dims, raw)
}

// TensorInt64 makes an int64 tensor.
func TensorInt64(name string, dims []int64, data []int64) *onnxpb.TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return rawTensor(name, Int64, dims, raw)
}

// TensorInt32 makes an int32 tensor.
func TensorInt32(name string, dims []int64, data []int32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	return rawTensor(name, Int32, dims, raw)
}

func rawTensor(name string, dt DataType, dims []int64, raw []byte) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{
		Name:     ptr(name),
		DataType: ptr(int32(dt)),
		Dims:     append([]int64{}, dims...),
		RawData:  raw,
	}
}

// NumElements is the product of the tensor's dimensions (1 for a scalar).
func NumElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

func isExternal(t *onnxpb.TensorProto) bool {
	return t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL
}

func externalField(t *onnxpb.TensorProto, key string) string {
	for _, kv := range t.GetExternalData() {
		if kv.GetKey() == key {
			return kv.GetValue()
		}
	}
	return ""
}

// TensorBytes returns a tensor's data as little-endian bytes, whichever way
// the file stores it: raw_data, typed fields, or an external file (read now,
// only this tensor's range).
func (m *Model) TensorBytes(t *onnxpb.TensorProto) ([]byte, error) {
	dt := DataType(t.GetDataType())
	size := dt.Size()
	if size == 0 {
		return nil, fmt.Errorf("tensor %q: element type %s has no fixed size", t.GetName(), dt)
	}
	want := NumElements(t.GetDims()) * int64(size)
	var raw []byte
	switch {
	case isExternal(t):
		b, err := m.readExternal(t)
		if err != nil {
			return nil, err
		}
		raw = b
	case t.RawData != nil:
		raw = t.GetRawData()
	default:
		raw = typedFieldBytes(t, dt)
	}
	if int64(len(raw)) != want {
		return nil, fmt.Errorf("tensor %q: %d bytes of data for shape %v of %s (want %d)",
			t.GetName(), len(raw), t.GetDims(), dt, want)
	}
	return raw, nil
}

func (m *Model) readExternal(t *onnxpb.TensorProto) ([]byte, error) {
	loc, err := cleanLocation(externalField(t, "location"))
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	if m.Dir == "" {
		return nil, fmt.Errorf("tensor %q: external data %q but the model has no folder", t.GetName(), loc)
	}
	path := filepath.Join(m.Dir, loc)
	var offset, length int64 = 0, -1
	if s := externalField(t, "offset"); s != "" {
		if offset, err = strconv.ParseInt(s, 10, 64); err != nil || offset < 0 {
			return nil, fmt.Errorf("tensor %q: bad external data offset %q", t.GetName(), s)
		}
	}
	if s := externalField(t, "length"); s != "" {
		if length, err = strconv.ParseInt(s, 10, 64); err != nil || length < 0 {
			return nil, fmt.Errorf("tensor %q: bad external data length %q", t.GetName(), s)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: external data file: %w", t.GetName(), err)
	}
	defer f.Close()
	if length < 0 {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		length = st.Size() - offset
	}
	if length < 0 {
		return nil, fmt.Errorf("tensor %q: offset %d past the end of %s", t.GetName(), offset, path)
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, offset); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("tensor %q: %s ends before offset %d + %d bytes (truncated weights file?)",
				t.GetName(), path, offset, length)
		}
		return nil, fmt.Errorf("tensor %q: read %s: %w", t.GetName(), path, err)
	}
	return buf, nil
}

// typedFieldBytes converts the typed repeated fields to little-endian bytes.
// ONNX stores 8- and 16-bit types (float16 included) widened in int32_data.
func typedFieldBytes(t *onnxpb.TensorProto, dt DataType) []byte {
	var out []byte
	switch dt {
	case Float:
		for _, v := range t.GetFloatData() {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	case Double:
		for _, v := range t.GetDoubleData() {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
		}
	case Int64:
		for _, v := range t.GetInt64Data() {
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	case Uint32, Uint64:
		for _, v := range t.GetUint64Data() {
			if dt == Uint32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(v))
			} else {
				out = binary.LittleEndian.AppendUint64(out, v)
			}
		}
	case Int32:
		for _, v := range t.GetInt32Data() {
			out = binary.LittleEndian.AppendUint32(out, uint32(v))
		}
	case Float16, BFloat16, Int16, Uint16:
		for _, v := range t.GetInt32Data() {
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		}
	case Int8, Uint8, Bool:
		for _, v := range t.GetInt32Data() {
			out = append(out, byte(v))
		}
	}
	return out
}

// TensorFloat32s decodes a float32, float16 or float64 tensor to float32.
func (m *Model) TensorFloat32s(t *onnxpb.TensorProto) ([]float32, error) {
	raw, err := m.TensorBytes(t)
	if err != nil {
		return nil, err
	}
	switch dt := DataType(t.GetDataType()); dt {
	case Float:
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	case Float16:
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = float16.Frombits(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		}
		return out, nil
	case Double:
		out := make([]float32, len(raw)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("tensor %q is %s, not a float type", t.GetName(), dt)
	}
}

// TensorInt64s decodes an int64 or int32 tensor to int64.
func (m *Model) TensorInt64s(t *onnxpb.TensorProto) ([]int64, error) {
	raw, err := m.TensorBytes(t)
	if err != nil {
		return nil, err
	}
	switch dt := DataType(t.GetDataType()); dt {
	case Int64:
		out := make([]int64, len(raw)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		return out, nil
	case Int32:
		out := make([]int64, len(raw)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("tensor %q is %s, not an integer type", t.GetName(), dt)
	}
}
