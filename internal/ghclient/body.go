package ghclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// DefaultMaxBody is the largest GitHub answer read by default (after
// decompression). It is far above what the API returns for JSON (a 20,000-model
// dbt project's tree, a 20 MB file's contents) and leaves room for repository
// tarballs; an answer past it fails instead of filling memory.
const DefaultMaxBody = 512 << 20

// maxCachedBody is the largest answer the ETag cache keeps. Larger answers
// pass through whole but uncached.
const maxCachedBody = 2 << 20

// etagCacheSize is how many answers the ETag cache keeps (least recently
// used first out).
const etagCacheSize = 2048

// ErrBodyTooLarge is wrapped by the error a read returns once a GitHub answer
// passes the size limit.
var ErrBodyTooLarge = errors.New("GitHub answer too large")

// BodyTooLargeError says which call answered too much and what the limit is.
type BodyTooLargeError struct {
	Method, Path string
	Limit        int64
}

// Error names the call and the limit.
func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("GitHub answered more than %s for %s %s; Conveyor reads at most %s of one answer, so this call fails rather than use part of it",
		sizeText(e.Limit), e.Method, e.Path, sizeText(e.Limit))
}

// Unwrap lets errors.Is(err, ErrBodyTooLarge) match.
func (e *BodyTooLargeError) Unwrap() error { return ErrBodyTooLarge }

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitTransport makes every answer's body fail with BodyTooLargeError once
// more than max bytes were read, whatever ContentLength says (chunked and
// decompressed answers have none).
type limitTransport struct {
	next    http.RoundTripper
	max     int64
	metrics *Metrics
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	tooBig := &BodyTooLargeError{Method: req.Method, Path: req.URL.Path, Limit: t.max}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		t.metrics.TooLarge.Inc()
		return nil, tooBig
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max, err: tooBig, metrics: t.metrics}
	return resp, nil
}

type limitedBody struct {
	rc      io.ReadCloser
	left    int64
	err     *BodyTooLargeError
	metrics *Metrics
	failed  bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.failed {
		return 0, b.err
	}
	// Read one byte past the limit: an answer of exactly max bytes is fine.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		b.failed = true
		b.metrics.TooLarge.Inc()
		return int(b.left), b.err
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// prefixed is a body whose first bytes were already read into head: the
// reader sees head, then the rest, and closing closes the original.
func prefixed(head []byte, rest io.ReadCloser) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), rest), rest}
}

// etagCacheBytes bounds the bytes the ETag cache holds: without it 2048
// entries of up to 2 MiB could hold 4 GiB.
const etagCacheBytes = 64 << 20

type etagEntry struct {
	etag string
	raw  []byte // the whole response, as http.Response.Write renders it
}

// etagCache is an LRU bounded by entries and by bytes.
type etagCache struct {
	mu       sync.Mutex // makes add's replace-then-trim one step
	lru      *lru.Cache[string, *etagEntry]
	bytes    int64
	maxBytes int64
}

func newETagCache(entries int, maxBytes int64) *etagCache {
	c := &etagCache{maxBytes: maxBytes}
	l, err := lru.NewWithEvict(entries, func(_ string, e *etagEntry) { c.bytes -= int64(len(e.raw)) })
	if err != nil {
		panic(err) // only for a size <= 0
	}
	c.lru = l
	return c
}

func (c *etagCache) get(key string) *etagEntry {
	e, _ := c.lru.Get(key)
	return e
}

func (c *etagCache) add(key string, e *etagEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Replacing a key does not call the eviction callback: count it here.
	if _, ok := c.lru.Peek(key); ok {
		c.lru.Remove(key)
	}
	c.lru.Add(key, e)
	c.bytes += int64(len(e.raw))
	for c.bytes > c.maxBytes && c.lru.Len() > 0 {
		c.lru.RemoveOldest()
	}
}

// size reports the entries and bytes held.
func (c *etagCache) size() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}

// etagTransport keeps the last 200 answer of GETs by scope and URL and asks
// again with If-None-Match: a 304 costs no rate limit.
type etagTransport struct {
	next  http.RoundTripper
	cache *etagCache
	scope string
}

func (t *etagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" || req.Header.Get("Range") != "" {
		return t.next.RoundTrip(req)
	}
	key := t.scope + " " + req.Header.Get("Accept") + " " + req.URL.String()
	cached := t.cache.get(key)
	if cached != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", cached.etag)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && cached != nil {
		resp.Body.Close()
		return http.ReadResponse(bufio.NewReader(bytes.NewReader(cached.raw)), req)
	}
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || resp.ContentLength > maxCachedBody {
		return resp, nil
	}
	// Read one byte more than the cache keeps to learn whether it fits. A
	// larger answer (chunked or decompressed: no length known up front) is
	// handed on whole, the bytes read so far followed by the rest.
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if len(head) > maxCachedBody {
		resp.Body = prefixed(head, resp.Body)
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(head))
	var buf bytes.Buffer
	snapshot := *resp
	snapshot.Body = io.NopCloser(bytes.NewReader(head))
	snapshot.ContentLength = int64(len(head))
	snapshot.TransferEncoding = nil
	if err := snapshot.Write(&buf); err == nil {
		t.cache.add(key, &etagEntry{etag: etag, raw: buf.Bytes()})
	}
	return resp, nil
}
