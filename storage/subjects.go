package storage

import (
	"fmt"
	"sort"
	"strings"
)

// PutSubject inserts or replaces a subject. An empty ID gets a new one;
// Created/Updated are set. Every blob it refers to must be stored (PutBlob
// in the same transaction, or already in the library).
func (t *Tx) PutSubject(s *Subject) error {
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("subject needs a name")
	}
	subjects, err := t.bucket(bucketSubjects)
	if err != nil {
		return err
	}
	ts := now()
	if s.ID == "" {
		s.ID = newID(ts)
	}
	var oldRefs []BlobRef
	if old, err := t.Subject(s.ID); err == nil {
		oldRefs = old.refs()
		s.Created = old.Created
	} else if !isNotFound(err) {
		return err
	}
	if s.Created.IsZero() {
		s.Created = ts
	}
	s.Created = s.Created.UTC()
	s.Updated = ts
	s.V = SubjectVersion
	buf, err := marshal(s)
	if err != nil {
		return err
	}
	if err := t.retarget(oldRefs, s.refs()); err != nil {
		return fmt.Errorf("subject %q: %w", s.Name, err)
	}
	if err := subjects.Put([]byte(s.ID), buf); err != nil {
		return fmt.Errorf("store subject %q: %w", s.Name, err)
	}
	return nil
}

// Subject reads one subject.
func (t *Tx) Subject(id string) (*Subject, error) {
	subjects, err := t.bucket(bucketSubjects)
	if err != nil {
		return nil, err
	}
	v := subjects.Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("subject %s: %w", id, ErrNotFound)
	}
	return decodeSubject(id, v)
}

func decodeSubject(id string, v []byte) (*Subject, error) {
	var s Subject
	if err := unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("subject %s: %w", id, err)
	}
	if s.V < 1 || s.V > SubjectVersion {
		return nil, fmt.Errorf("subject %s has record version %d (this app reads up to %d)", id, s.V, SubjectVersion)
	}
	return &s, nil
}

// Subjects lists all subjects, sorted by name (then id).
func (t *Tx) Subjects() ([]*Subject, error) {
	subjects, err := t.bucket(bucketSubjects)
	if err != nil {
		return nil, err
	}
	var out []*Subject
	err = subjects.ForEach(func(k, v []byte) error {
		s, err := decodeSubject(string(k), v)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Name), strings.ToLower(out[j].Name)
		if a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// DeleteSubject removes a subject and releases its blobs. Generations that
// used it keep their recipe (which names the subject id) unchanged.
func (t *Tx) DeleteSubject(id string) error {
	s, err := t.Subject(id)
	if err != nil {
		return err
	}
	if err := t.retarget(s.refs(), nil); err != nil {
		return fmt.Errorf("delete subject %s: %w", id, err)
	}
	subjects, _ := t.bucket(bucketSubjects)
	return subjects.Delete([]byte(id))
}

// Subjects lists all subjects (see Tx.Subjects).
func (l *Library) Subjects() (out []*Subject, err error) {
	err = l.View(func(t *Tx) error { out, err = t.Subjects(); return err })
	return out, err
}

// Subject reads one subject.
func (l *Library) Subject(id string) (s *Subject, err error) {
	err = l.View(func(t *Tx) error { s, err = t.Subject(id); return err })
	return s, err
}

// DeleteSubject deletes a subject and collects its blobs.
func (l *Library) DeleteSubject(id string) error {
	return l.Update(func(t *Tx) error { return t.DeleteSubject(id) })
}

// RenameSubject changes a subject's display name.
func (l *Library) RenameSubject(id, name string) error {
	return l.Update(func(t *Tx) error {
		s, err := t.Subject(id)
		if err != nil {
			return err
		}
		s.Name = name
		return t.PutSubject(s)
	})
}
