package diffusion

import (
	"fmt"
	"strings"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// The tensor roles of each component, read from its signature. Names are
// taken from the file; roles are decided by rank and type, with the
// published names only breaking ties.

// TextEncoderIO is the text encoder's interface.
type TextEncoderIO struct {
	IDs        string
	IDsType    onnx.DataType
	Length     int64 // fixed sequence length, 0 if dynamic
	Hidden     string
	HiddenType onnx.DataType
	Width      int64
	Pooled     string // "" if absent
}

// UNetIO is a UNet's interface.
type UNetIO struct {
	Dir          string // component folder
	Sample       string
	SampleType   onnx.DataType
	Timestep     string
	TimestepType onnx.DataType
	TimestepRank int
	Context      string
	ContextType  onnx.DataType
	ContextWidth int64
	Out          string
	OutType      onnx.DataType
	Residuals    []string // ControlNet residual inputs, in order
	SampleSize   int64
}

// DecoderIO is the VAE decoder's interface.
type DecoderIO struct {
	In, Out        string
	InType         onnx.DataType
	OutType        onnx.DataType
	LatentChannels int64
}

// EncoderIO is the VAE encoder's interface.
type EncoderIO struct {
	In, Out string
	InType  onnx.DataType
	OutType onnx.DataType
	// Parameters is set when the output is mean ‖ logvar (2C channels).
	Parameters bool
}

// ControlNetIO is a ControlNet's interface (OnnxStack convention).
type ControlNetIO struct {
	Dir          string
	Sample       string
	Timestep     string
	TimestepType onnx.DataType
	TimestepRank int
	Context      string
	Cond         string
	Scale        string // "" if the scale is baked in
	ScaleType    onnx.DataType
	ScaleRank    int
	Residuals    []string // outputs, in order
	SampleType   onnx.DataType
}

type roleError struct{ tensor, problem string }

func (e *roleError) Error() string { return e.tensor + ": " + e.problem }

func bad(tensor, format string, args ...any) error {
	return &roleError{tensor: tensor, problem: fmt.Sprintf(format, args...)}
}

func isFloat(t onnx.DataType) bool { return t == onnx.Float || t == onnx.Float16 }
func isInt(t onnx.DataType) bool   { return t == onnx.Int32 || t == onnx.Int64 }

func dim(v onnx.ValueInfo, i int) int64 {
	if v.Shape == nil || i >= len(v.Shape) || !v.Shape[i].Known() {
		return 0
	}
	return v.Shape[i].Value
}

func mapTextEncoder(s onnx.Signature) (TextEncoderIO, error) {
	var io TextEncoderIO
	var ids []onnx.ValueInfo
	for _, in := range s.Inputs {
		if isInt(in.Type) {
			ids = append(ids, in)
		}
	}
	if len(ids) == 0 {
		return io, bad("input_ids", "the text encoder has no integer input for token ids")
	}
	id := ids[0]
	for _, c := range ids {
		if c.Name == "input_ids" {
			id = c
		}
	}
	if id.Rank() != 2 && id.Rank() != -1 {
		return io, bad(id.Name, "token ids must be [batch, length], the file says %s", id)
	}
	if len(s.Inputs) != 1 {
		for _, in := range s.Inputs {
			if in.Name != id.Name {
				return io, bad(in.Name, "unexpected extra text-encoder input (%s)", in)
			}
		}
	}
	io.IDs, io.IDsType, io.Length = id.Name, id.Type, dim(id, 1)
	for _, out := range s.Outputs {
		switch {
		case io.Hidden == "" && isFloat(out.Type) && out.Rank() == 3:
			io.Hidden, io.HiddenType, io.Width = out.Name, out.Type, dim(out, 2)
		case io.Pooled == "" && isFloat(out.Type) && out.Rank() == 2:
			io.Pooled = out.Name
		}
	}
	if io.Hidden == "" {
		return io, bad("last_hidden_state", "the text encoder has no [batch, length, width] float output")
	}
	return io, nil
}

func mapUNet(s onnx.Signature) (UNetIO, error) {
	io := UNetIO{Dir: "unet"}
	var rank4 []onnx.ValueInfo
	for _, in := range s.Inputs {
		switch {
		case isFloat(in.Type) && in.Rank() == 4:
			rank4 = append(rank4, in)
		case in.Rank() == 3 && isFloat(in.Type) && io.Context == "":
			io.Context, io.ContextType, io.ContextWidth = in.Name, in.Type, dim(in, 2)
		case (in.Rank() == 0 || in.Rank() == 1) && (isFloat(in.Type) || isInt(in.Type)) && io.Timestep == "":
			io.Timestep, io.TimestepType, io.TimestepRank = in.Name, in.Type, in.Rank()
		default:
			return io, bad(in.Name, "unexpected UNet input %s", in)
		}
	}
	if len(rank4) == 0 {
		return io, bad("sample", "the UNet has no [batch, channels, height, width] float input")
	}
	sample := rank4[0]
	for _, v := range rank4 {
		if v.Name == "sample" {
			sample = v
		}
	}
	io.Sample, io.SampleType, io.SampleSize = sample.Name, sample.Type, dim(sample, 2)
	for _, v := range rank4 {
		if v.Name != sample.Name {
			io.Residuals = append(io.Residuals, v.Name)
		}
	}
	if io.Timestep == "" {
		return io, bad("timestep", "the UNet has no timestep input (rank 0 or 1)")
	}
	if io.Context == "" {
		return io, bad("encoder_hidden_states", "the UNet has no [batch, length, width] text input")
	}
	for _, out := range s.Outputs {
		if isFloat(out.Type) && out.Rank() == 4 {
			io.Out, io.OutType = out.Name, out.Type
			break
		}
	}
	if io.Out == "" {
		return io, bad("out_sample", "the UNet has no [batch, channels, height, width] float output")
	}
	if len(s.Outputs) > 1 {
		return io, bad(s.Outputs[1].Name, "a UNet has one output; this looks like a ControlNet")
	}
	return io, nil
}

func mapDecoder(s onnx.Signature) (DecoderIO, error) {
	var io DecoderIO
	if len(s.Inputs) != 1 || !isFloat(s.Inputs[0].Type) || s.Inputs[0].Rank() != 4 {
		return io, bad(firstName(s.Inputs, "latent_sample"), "the VAE decoder must take one [batch, channels, h, w] float input")
	}
	in := s.Inputs[0]
	io.In, io.InType, io.LatentChannels = in.Name, in.Type, dim(in, 1)
	for _, out := range s.Outputs {
		if isFloat(out.Type) && out.Rank() == 4 {
			io.Out, io.OutType = out.Name, out.Type
			if c := dim(out, 1); c != 0 && c != 3 {
				return io, bad(out.Name, "the decoded image has %d channels, want 3 (RGB)", c)
			}
			break
		}
	}
	if io.Out == "" {
		return io, bad("sample", "the VAE decoder has no image output")
	}
	return io, nil
}

func mapEncoder(s onnx.Signature) (EncoderIO, error) {
	var io EncoderIO
	if len(s.Inputs) != 1 || !isFloat(s.Inputs[0].Type) || s.Inputs[0].Rank() != 4 {
		return io, bad(firstName(s.Inputs, "sample"), "the VAE encoder must take one [batch, 3, h, w] float input")
	}
	io.In, io.InType = s.Inputs[0].Name, s.Inputs[0].Type
	if len(s.Outputs) == 0 || s.Outputs[0].Rank() != 4 || !isFloat(s.Outputs[0].Type) {
		return io, bad(firstName(s.Outputs, "latent_sample"), "the VAE encoder has no latent output")
	}
	out := s.Outputs[0]
	io.Out, io.OutType = out.Name, out.Type
	io.Parameters = strings.Contains(out.Name, "parameters")
	return io, nil
}

func mapControlNet(s onnx.Signature) (ControlNetIO, error) {
	var io ControlNetIO
	var rank4 []onnx.ValueInfo
	for _, in := range s.Inputs {
		switch {
		case isFloat(in.Type) && in.Rank() == 4:
			rank4 = append(rank4, in)
		case in.Rank() == 3 && isFloat(in.Type):
			io.Context = in.Name
		case in.Name == "conditioning_scale" || (isFloat(in.Type) && in.Rank() <= 1 && io.Timestep != ""):
			io.Scale, io.ScaleType, io.ScaleRank = in.Name, in.Type, in.Rank()
		case in.Rank() <= 1 && io.Timestep == "":
			io.Timestep, io.TimestepType, io.TimestepRank = in.Name, in.Type, in.Rank()
		}
	}
	for _, out := range s.Outputs {
		if isFloat(out.Type) && out.Rank() == 4 {
			io.Residuals = append(io.Residuals, out.Name)
		}
	}
	if len(rank4) != 2 || len(io.Residuals) < 2 || io.Context == "" || io.Timestep == "" {
		return io, bad("controlnet_cond", "not a ControlNet (sample, timestep, encoder_hidden_states, controlnet_cond → residuals)")
	}
	io.Sample, io.Cond, io.SampleType = rank4[0].Name, rank4[1].Name, rank4[0].Type
	for _, v := range rank4 {
		if v.Name == "controlnet_cond" || dim(v, 1) == 3 {
			io.Cond = v.Name
		} else {
			io.Sample = v.Name
		}
	}
	return io, nil
}

func firstName(vs []onnx.ValueInfo, def string) string {
	if len(vs) > 0 {
		return vs[0].Name
	}
	return def
}
