package gui

import (
	"container/list"
	"image"
	"sync"
)

// thumbCacheSize bounds the decoded thumbnails kept in memory: a screenful
// several times over (a 256² thumbnail is 256 KiB decoded), so scrolling
// back is instant while 10,000 items never sit in memory at once.
const thumbCacheSize = 240

// thumbLoader loads thumbnails off the UI goroutine, newest request first
// (when the user scrolls fast, the cells now on screen asked last), and
// keeps the most recently used ones.
type thumbLoader struct {
	load   func(id string) (image.Image, error)
	loaded func(id string) // called on the UI goroutine when id is ready

	mu      sync.Mutex
	cache   map[string]*list.Element
	lru     *list.List // of thumbEntry, most recent at the front
	pending []string
	queued  map[string]bool
	failed  map[string]bool // not retried: each retry would fail the same way
	wake    chan struct{}
}

type thumbEntry struct {
	id  string
	img image.Image
}

// maxPending drops the oldest requests: they are for cells long scrolled away.
const maxPending = 128

func newThumbLoader(load func(string) (image.Image, error), loaded func(string)) *thumbLoader {
	t := &thumbLoader{load: load, loaded: loaded, cache: map[string]*list.Element{}, lru: list.New(),
		queued: map[string]bool{}, failed: map[string]bool{}, wake: make(chan struct{}, 1)}
	go t.work()
	return t
}

// Get returns the cached thumbnail, or nil after asking for it.
func (t *thumbLoader) Get(id string) image.Image {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.cache[id]; ok {
		t.lru.MoveToFront(e)
		return e.Value.(thumbEntry).img
	}
	if !t.queued[id] && !t.failed[id] {
		t.queued[id] = true
		t.pending = append(t.pending, id)
		if len(t.pending) > maxPending {
			for _, old := range t.pending[:len(t.pending)-maxPending] {
				delete(t.queued, old)
			}
			t.pending = append([]string(nil), t.pending[len(t.pending)-maxPending:]...)
		}
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Forget drops an item (deleted, or its picture changed).
func (t *thumbLoader) Forget(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.cache[id]; ok {
		t.lru.Remove(e)
		delete(t.cache, id)
	}
}

// Len is the number of cached thumbnails.
func (t *thumbLoader) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

func (t *thumbLoader) work() {
	for range t.wake {
		for {
			t.mu.Lock()
			if len(t.pending) == 0 {
				t.mu.Unlock()
				break
			}
			id := t.pending[len(t.pending)-1]
			t.pending = t.pending[:len(t.pending)-1]
			t.mu.Unlock()

			img, err := t.load(id)
			if err != nil {
				// A missing or damaged thumbnail stays a placeholder; the
				// viewer reports the error if the user opens the item.
				img = nil
			}
			t.mu.Lock()
			delete(t.queued, id)
			if img == nil {
				t.failed[id] = true
			} else {
				t.cache[id] = t.lru.PushFront(thumbEntry{id, img})
				for t.lru.Len() > thumbCacheSize {
					old := t.lru.Back()
					t.lru.Remove(old)
					delete(t.cache, old.Value.(thumbEntry).id)
				}
			}
			t.mu.Unlock()
			if img != nil {
				onUI(func() { t.loaded(id) })
			}
		}
	}
}
