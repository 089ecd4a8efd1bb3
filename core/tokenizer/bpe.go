package tokenizer

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"sync"
)

const endOfWord = "</w>"

// maxMerges is how many lines of merges.txt Hugging Face's CLIPTokenizer
// reads (49152 - 256 - 2): OpenAI's merges file is longer than the vocabulary
// it ships with, and merges past this point produce tokens that vocab.json
// does not have. Smaller files (ToyWorld) are read whole.
const maxMerges = 49152 - 256 - 2

// cacheLimit bounds the per-word cache; prompts reuse a few hundred words,
// so a full cache is simply dropped rather than tracked as an LRU.
const cacheLimit = 20000

type pair struct{ a, b string }

type bpe struct {
	ranks map[pair]int

	mu    sync.Mutex
	cache map[string][]string
}

// parseMerges reads merges.txt: an optional "#version" line, then one
// "left right" merge per line in rank order.
func parseMerges(data []byte) (map[pair]int, error) {
	ranks := make(map[pair]int)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 && strings.HasPrefix(text, "#version") {
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		if len(ranks) == maxMerges {
			break
		}
		parts := strings.Fields(text)
		if len(parts) != 2 {
			return nil, fmt.Errorf("merges.txt line %d: want two symbols, got %q", line, text)
		}
		p := pair{parts[0], parts[1]}
		if _, dup := ranks[p]; !dup {
			ranks[p] = len(ranks)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading merges.txt: %w", err)
	}
	if len(ranks) == 0 {
		return nil, fmt.Errorf("merges.txt has no merges")
	}
	return ranks, nil
}

// encodeWord returns the BPE pieces of one pre-token (already byte-encoded
// symbols); the last piece carries the end-of-word marker.
func (m *bpe) encodeWord(token string, symbols []string) []string {
	m.mu.Lock()
	if pieces, ok := m.cache[token]; ok {
		m.mu.Unlock()
		return pieces
	}
	m.mu.Unlock()

	word := make([]string, len(symbols))
	copy(word, symbols)
	word[len(word)-1] += endOfWord
	for len(word) > 1 {
		best, bestRank := pair{}, -1
		for i := 0; i+1 < len(word); i++ {
			p := pair{word[i], word[i+1]}
			if r, ok := m.ranks[p]; ok && (bestRank < 0 || r < bestRank) {
				best, bestRank = p, r
			}
		}
		if bestRank < 0 {
			break
		}
		// Merge every non-overlapping occurrence, left to right.
		out := word[:0:0]
		for i := 0; i < len(word); {
			if i+1 < len(word) && word[i] == best.a && word[i+1] == best.b {
				out = append(out, best.a+best.b)
				i += 2
			} else {
				out = append(out, word[i])
				i++
			}
		}
		word = out
	}

	m.mu.Lock()
	if len(m.cache) >= cacheLimit {
		m.cache = make(map[string][]string)
	}
	m.cache[token] = word
	m.mu.Unlock()
	return word
}
