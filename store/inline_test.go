package store

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// withInlineMax sets the largest value a put embeds in its manifest; -1
// embeds none.
func withInlineMax(n int64) Option { return func(o *options) { o.inlineMax = n } }

func TestInlineValid(t *testing.T) {
	t.Parallel()
	value := []byte("true value")
	h, _, _ := v1.SHA256(bytes.NewReader(value))
	for _, tc := range []struct {
		name string
		d    v1.Descriptor
		want bool
	}{
		{"matches", v1.Descriptor{Digest: h, Size: int64(len(value)), Data: value}, true},
		{"no data", v1.Descriptor{Digest: h, Size: int64(len(value))}, false},
		{"other bytes of the same size", v1.Descriptor{Digest: h, Size: int64(len(value)), Data: []byte("evil value")}, false},
		{"size disagrees", v1.Descriptor{Digest: h, Size: 3, Data: value}, false},
		{"not sha256", v1.Descriptor{Digest: v1.Hash{Algorithm: "sha512", Hex: h.Hex}, Size: int64(len(value)), Data: value}, false},
	} {
		if got := inlineValid(tc.d); got != tc.want {
			t.Errorf("%s: inlineValid = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestInlineValue: a value up to the inline limit is embedded in its entry
// manifest and get reads it from there (no blob request, so a registry that
// fails every blob read still serves it); a larger one is not; an embedded
// value that does not match its digest is ignored for the blob.
func TestInlineValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, image, _ := newLiar(t)
	var blobReads atomic.Int64
	l.set(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			blobReads.Add(1)
		}
		return false
	})
	w := open(t, image, WithAccess(Write))
	subject, err := w.Subject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	small := strings.Repeat("s", InlineMax)
	large := strings.Repeat("L", InlineMax+1)
	for _, tc := range []struct {
		key, value string
		inline     bool
	}{
		{"small", small, true},
		{"large", large, false},
	} {
		e, err := w.Put(ctx, tc.key, Value{Path: testimage.WriteValue(t, tc.key+".txt", tc.value)})
		if err != nil {
			t.Fatal(err)
		}
		h, _ := v1.NewHash(e.Digest)
		b, err := w.b.manifest(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if got := string(m.Layers[0].Data); (got == tc.value) != tc.inline || (!tc.inline && got != "") {
			t.Errorf("%s: layer data is %d bytes, want the value embedded: %v", tc.key, len(got), tc.inline)
		}
		before := blobReads.Load()
		var buf bytes.Buffer
		if _, err := open(t, image).Read(ctx, tc.key, "", &buf); err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		if buf.String() != tc.value {
			t.Errorf("%s: read %d bytes, not the value", tc.key, buf.Len())
		}
		if reads := blobReads.Load() - before; (reads == 0) != tc.inline {
			t.Errorf("%s: get read %d blobs; embedded: %v", tc.key, reads, tc.inline)
		}
	}

	// Another writer embedded bytes that are not the value: the blob wins.
	value := []byte("true value")
	d := v1.Descriptor{MediaType: "text/plain", Size: int64(len(value)), Data: []byte("evil value")}
	d.Digest, _, _ = v1.SHA256(bytes.NewReader(value))
	if err := w.ensureBlobFrom(ctx, d, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(value)), nil }); err != nil {
		t.Fatal(err)
	}
	b, md, err := entryManifest(subject, "lying", d, w.o.now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.b.attach(ctx, subject, b, md); err != nil {
		t.Fatal(err)
	}
	before := blobReads.Load()
	var buf bytes.Buffer
	if _, err := open(t, image).Read(ctx, "lying", "", &buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(value) || blobReads.Load() == before {
		t.Errorf("read %q with %d blob reads, want the blob's %q", buf.String(), blobReads.Load()-before, value)
	}
}
