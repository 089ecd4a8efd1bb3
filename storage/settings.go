package storage

import (
	"errors"
	"fmt"
)

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Setting decodes the setting key into v; found is false (and v untouched)
// when it was never set.
func (l *Library) Setting(key string, v any) (found bool, err error) {
	err = l.View(func(t *Tx) error {
		b, err := t.bucket(bucketSettings)
		if err != nil {
			return err
		}
		raw := b.Get([]byte(key))
		if raw == nil {
			return nil
		}
		found = true
		if err := unmarshal(raw, v); err != nil {
			return fmt.Errorf("setting %q: %w", key, err)
		}
		return nil
	})
	return found, err
}

// SetSetting stores any CBOR-encodable value under key.
func (l *Library) SetSetting(key string, v any) error {
	if key == "" {
		return errors.New("setting needs a key")
	}
	buf, err := marshal(v)
	if err != nil {
		return fmt.Errorf("setting %q: %w", key, err)
	}
	return l.Update(func(t *Tx) error {
		b, err := t.bucket(bucketSettings)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), buf)
	})
}

// DeleteSetting forgets a setting.
func (l *Library) DeleteSetting(key string) error {
	return l.Update(func(t *Tx) error {
		b, err := t.bucket(bucketSettings)
		if err != nil {
			return err
		}
		return b.Delete([]byte(key))
	})
}

// PutModel records (or updates) a model by fingerprint.
func (l *Library) PutModel(m *ModelInfo) error {
	if m.Fingerprint == "" {
		return errors.New("model needs a fingerprint")
	}
	if m.Added.IsZero() {
		m.Added = now()
	}
	m.Added = m.Added.UTC()
	m.V = ModelVersion
	buf, err := marshal(m)
	if err != nil {
		return err
	}
	return l.Update(func(t *Tx) error {
		b, err := t.bucket(bucketModels)
		if err != nil {
			return err
		}
		return b.Put([]byte(m.Fingerprint), buf)
	})
}

// Models lists the recorded models by fingerprint.
func (l *Library) Models() ([]*ModelInfo, error) {
	var out []*ModelInfo
	err := l.View(func(t *Tx) error {
		b, err := t.bucket(bucketModels)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var m ModelInfo
			if err := unmarshal(v, &m); err != nil {
				return fmt.Errorf("model %s: %w", k, err)
			}
			out = append(out, &m)
			return nil
		})
	})
	return out, err
}
