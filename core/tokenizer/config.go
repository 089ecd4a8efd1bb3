package tokenizer

import (
	"encoding/json"
	"fmt"
)

// specialTokens are the token strings a CLIP tokenizer folder declares.
// CLIPTokenizer's defaults apply where the files are silent.
type specialTokens struct {
	BOS, EOS, Pad, Unk string
	MaxLength          int
}

func defaultSpecialTokens() specialTokens {
	return specialTokens{
		BOS: "<|startoftext|>", EOS: "<|endoftext|>",
		Pad: "<|endoftext|>", Unk: "<|endoftext|>",
		MaxLength: DefaultMaxLength,
	}
}

// tokenField is a special-token entry: either a plain string or an
// AddedToken object {"content": "..."}; null means "not set".
type tokenField struct {
	Value string
	Set   bool
}

func (f *tokenField) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		f.Value, f.Set = s, true
		return nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("special token is neither a string nor an object: %s", b)
	}
	if obj.Content == nil {
		return fmt.Errorf("special token object has no \"content\": %s", b)
	}
	f.Value, f.Set = *obj.Content, true
	return nil
}

type tokenFile struct {
	BOS            tokenField `json:"bos_token"`
	EOS            tokenField `json:"eos_token"`
	Pad            tokenField `json:"pad_token"`
	Unk            tokenField `json:"unk_token"`
	ModelMaxLength *float64   `json:"model_max_length"`
}

// apply overlays the tokens a file sets onto st.
func (f tokenFile) apply(st *specialTokens) {
	for _, x := range []struct {
		src tokenField
		dst *string
	}{{f.BOS, &st.BOS}, {f.EOS, &st.EOS}, {f.Pad, &st.Pad}, {f.Unk, &st.Unk}} {
		if x.src.Set {
			*x.dst = x.src.Value
		}
	}
	// Some configs say 1e30 ("no limit"); the text encoder's 77 positions
	// are the real limit then, so only believable values are taken.
	if m := f.ModelMaxLength; m != nil && *m >= 3 && *m <= maxSupportedLength {
		st.MaxLength = int(*m)
	}
}

// readSpecialTokens merges tokenizer_config.json and then
// special_tokens_map.json over the defaults. The map file wins, as in
// Hugging Face's loader: SD 2.x ships pad_token "<|endoftext|>" in the config
// but "!" in the map, and "!" is what its pipelines pad with.
func readSpecialTokens(config, specialMap []byte) (specialTokens, error) {
	st := defaultSpecialTokens()
	for _, f := range []struct {
		name string
		data []byte
	}{{"tokenizer_config.json", config}, {"special_tokens_map.json", specialMap}} {
		if len(f.data) == 0 {
			continue
		}
		var tf tokenFile
		if err := json.Unmarshal(f.data, &tf); err != nil {
			return st, fmt.Errorf("parsing %s: %w", f.name, err)
		}
		tf.apply(&st)
	}
	return st, nil
}
