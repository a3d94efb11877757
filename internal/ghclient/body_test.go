package ghclient

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// bigBody is n bytes that are easy to tell apart (not all one byte).
func bigBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%23)
	}
	return b
}

func testKey(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// stackClient is an HTTP client on the installation stack (without the token
// layer, which these answers do not need).
func stackClient(t *testing.T, maxBody int64) (*http.Client, *Metrics) {
	t.Helper()
	m := NewMetrics(nil)
	app, err := New(Options{AppID: 1, PrivateKey: testKey(t), Metrics: m, MaxBody: maxBody})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: app.stack("42", nil)}, m
}

// chunked writes body in pieces with flushes, so the answer has no
// Content-Length (ContentLength -1 on the client).
func chunked(w http.ResponseWriter, body []byte) {
	f := w.(http.Flusher)
	for len(body) > 0 {
		n := min(len(body), 256<<10)
		w.Write(body[:n])
		f.Flush()
		body = body[n:]
	}
}

func get(t *testing.T, c *http.Client, url string) ([]byte, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// A chunked answer with an ETag, larger than the cache keeps, reaches the
// caller whole, the first time and again.
func TestChunkedAnswerPassesWhole(t *testing.T) {
	t.Parallel()
	want := bigBody(3<<20 + 17)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		chunked(w, want)
	}))
	defer srv.Close()
	c, _ := stackClient(t, 0)
	for i := 0; i < 2; i++ {
		got, err := get(t, c, srv.URL+"/repos/acme/shop/git/trees/main")
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %d: got %d bytes, want %d", i, len(got), len(want))
		}
	}
}

// An answer Go's transport decompresses (gzip, no length known afterwards)
// reaches the caller whole.
func TestGzipAnswerPassesWhole(t *testing.T) {
	t.Parallel()
	want := bigBody(5 << 20)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(want)
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Errorf("client did not offer gzip")
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("ETag", `"z"`)
		w.Write(zipped.Bytes())
	}))
	defer srv.Close()
	c, _ := stackClient(t, 0)
	got, err := get(t, c, srv.URL+"/repos/acme/shop/contents/big.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
}

// An answer the ETag cache keeps is served whole from the cache on a 304.
func TestCachedAnswerServedWholeOnNotModified(t *testing.T) {
	t.Parallel()
	want := bigBody(maxCachedBody - 100)
	var notModified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		chunked(w, want)
	}))
	defer srv.Close()
	c, _ := stackClient(t, 0)
	for i := 0; i < 2; i++ {
		got, err := get(t, c, srv.URL+"/repos/acme/shop/contents/models.yml")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %d: %d bytes, %v; want %d", i, len(got), err, len(want))
		}
	}
	if notModified.Load() != 1 {
		t.Fatalf("304s = %d, want the second read answered from the cache", notModified.Load())
	}
}

// Past the limit the call fails with an error naming the call and the
// limit, whether the length is announced or not, and is not retried.
func TestAnswerOverLimitFailsClearly(t *testing.T) {
	t.Parallel()
	body := bigBody(5 << 20)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("ETag", `"big"`)
		if strings.HasSuffix(r.URL.Path, "/announced") {
			w.Write(body) // Content-Length set by net/http
			return
		}
		chunked(w, body)
	}))
	defer srv.Close()
	c, m := stackClient(t, 4<<20)
	for _, path := range []string{"/repos/acme/shop/contents/chunked", "/repos/acme/shop/contents/announced"} {
		calls.Store(0)
		got, err := get(t, c, srv.URL+path)
		if !errors.Is(err, ErrBodyTooLarge) {
			t.Fatalf("%s: read %d bytes, err %v; want ErrBodyTooLarge", path, len(got), err)
		}
		if want := "GitHub answered more than 4 MiB for GET " + path; !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: error %q does not say %q", path, err, want)
		}
		if calls.Load() != 1 {
			t.Fatalf("%s: asked %d times; a too-large answer is not retried", path, calls.Load())
		}
	}
	if n := testutil.ToFloat64(m.TooLarge); n != 2 {
		t.Fatalf("too-large answers counted %v, want 2", n)
	}
}

// A 403 whose start is read to look for a secondary rate limit is still
// handed on whole.
func TestForbiddenBodyNotCut(t *testing.T) {
	t.Parallel()
	want := bigBody(10 << 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write(want)
	}))
	defer srv.Close()
	c, _ := stackClient(t, 0)
	resp, err := c.Get(srv.URL + "/repos/acme/shop/collaborators/dev/permission")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("403 body: %d bytes, %v; want %d", len(got), err, len(want))
	}
}

// The ETag cache is bounded by entries and by bytes; replacing an entry
// counts its new size only.
func TestETagCacheBounds(t *testing.T) {
	t.Parallel()
	c := newETagCache(3, 1000)
	entry := func(n int) *etagEntry { return &etagEntry{etag: "e", raw: make([]byte, n)} }
	c.add("a", entry(400))
	c.add("b", entry(400))
	if n, b := c.size(); n != 2 || b != 800 {
		t.Fatalf("two entries: %d, %d bytes", n, b)
	}
	c.add("a", entry(100)) // replaced, and now the most recent
	if n, b := c.size(); n != 2 || b != 500 {
		t.Fatalf("after replacing a: %d, %d bytes; want 2, 500", n, b)
	}
	c.add("c", entry(600)) // 1100 > 1000: the oldest (b) goes (Contains does not touch recency)
	if n, b := c.size(); n != 2 || b != 700 || c.lru.Contains("b") || !c.lru.Contains("a") {
		t.Fatalf("past the byte bound: %d entries, %d bytes; want b evicted", n, b)
	}
	c.add("d", entry(10))
	c.add("e", entry(10)) // four entries > 3: the oldest (a) goes
	if n, b := c.size(); n != 3 || b != 620 || c.lru.Contains("a") {
		t.Fatalf("past the entry bound: %d entries, %d bytes", n, b)
	}
}
