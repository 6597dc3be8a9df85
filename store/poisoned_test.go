package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/faultproxy"
	"github.com/manifesto-dev/manifesto/internal/testimage"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// TestPoisonedFallbackIndex (issue 10, item 6), against the real CNCF
// Distribution: an attacker attaches two entries whose manifests carry
// 2.5 MiB of annotations each (under their trace tags, one also in the
// fallback index), so that an index copying them whole is over the 4 MiB the
// registry accepts. A put must still update the index at once (no loop of
// refused PUTs) and repair must succeed and leave a small index listing
// every entry.
func TestPoisonedFallbackIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := testregistry.Start(t)
	ref, err := name.ParseReference(reg.Ref("team/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(64, 1)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, reg.URL)
	image := proxy.Ref("team/app:v1")
	first, err := open(t, image, WithAccess(Write)).Put(ctx, "k", Value{Path: testimage.WriteValue(t, "v.txt", "one")})
	if err != nil {
		t.Fatal(err)
	}
	subject, err := open(t, image).Subject(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The attacker, with write access and go-containerregistry.
	repo := ref.Context()
	for _, l := range []v1.Layer{static.NewLayer([]byte(emptyJSON), types.OCIEmptyJSON), static.NewLayer([]byte("evil"), "text/plain")} {
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
	}
	valueDigest, _, _ := v1.SHA256(strings.NewReader("evil"))
	var evil []v1.Descriptor
	for i := range 2 {
		m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactType,
			Config:  emptyConfig(),
			Layers:  []v1.Descriptor{{MediaType: "text/plain", Digest: valueDigest, Size: 4}},
			Subject: &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
			Annotations: map[string]string{AnnotationKey: "evil", AnnotationCreated: "2030-01-01T00:00:0" + string(rune('0'+i)) + "Z",
				"junk": strings.Repeat("x", 5<<19)}} // 2.5 MiB
		b, _ := json.Marshal(m)
		h, n, _ := v1.SHA256(bytes.NewReader(b))
		rawPut(t, reg.URL+"/v2/team/app/manifests/"+traceTag(subject.Digest, h), b, types.OCIManifestSchema1)
		evil = append(evil, v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactType, Digest: h, Size: n, Annotations: m.Annotations})
	}
	// The index as a careless tool would write it: the first evil entry
	// copied whole (2.5 MiB, still under the registry's 4 MiB).
	poisoned, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex,
		Manifests: []v1.Descriptor{{MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactType, Digest: mustHash(t, first.Digest), Size: first.ManifestSize,
			Annotations: map[string]string{AnnotationKey: "k"}}, evil[0]}})
	rawPut(t, reg.URL+"/v2/team/app/manifests/"+fallbackTag(subject.Digest), poisoned, types.OCIImageIndex)

	proxy.Reset()
	w := open(t, image, WithAccess(Write))
	second, err := w.Put(ctx, "k", Value{Path: testimage.WriteValue(t, "v.txt", "two")})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Warnings) != 0 {
		t.Errorf("put warned: %q", Messages(w.Warnings))
	}
	// The entry under its trace tag (the registry has no referrers API,
	// which the put learned while uploading), the index once.
	if n := proxy.Counts().Of(http.MethodPut, faultproxy.KindManifests); n != 2 {
		t.Errorf("put sent %d manifest PUTs, want 2 (entry under its trace tag, index once):\n%s", n, proxy.Counts())
	}
	all, err := open(t, image, WithAccess(Write)).Repair(ctx)
	if err != nil {
		t.Fatalf("repair: %v", err)
	}
	if len(all) != 4 {
		t.Errorf("repair lists %d entries, want 4: %+v", len(all), all)
	}

	// The stored index lists every entry, small.
	resp, err := http.Get(reg.URL + "/v2/team/app/manifests/" + fallbackTag(subject.Digest))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var idx v1.IndexManifest
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, d := range idx.Manifests {
		listed[d.Digest.String()] = true
		if _, ok := d.Annotations["junk"]; ok {
			t.Errorf("index descriptor %s keeps the 2.5 MiB annotation", d.Digest)
		}
	}
	for _, want := range []string{first.Digest, second.Digest, evil[0].Digest.String(), evil[1].Digest.String()} {
		if !listed[want] {
			t.Errorf("index does not list %s", want)
		}
	}
	if resp.ContentLength > 64<<10 {
		t.Errorf("index is %d bytes", resp.ContentLength)
	}
}

// TestIndexRefusalNotRetried: a registry refusing the fallback index with a
// 4xx other than a conflict (or a missing child, which the merge loop cures)
// is not asked again, and the error carries its reason.
func TestIndexRefusalNotRetried(t *testing.T) {
	t.Parallel()
	l, image, _ := newLiar(t)
	subject, err := open(t, image).Subject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var puts atomic.Int64
	l.set(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+fallbackTag(subject.Digest)) {
			puts.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":"http: request body too large"}]}`))
			return true
		}
		return false
	})
	w := open(t, image, WithAccess(Write))
	_, perr := w.Put(context.Background(), "k", Value{Path: testimage.WriteValue(t, "v.txt", "two")})
	if perr != nil {
		t.Fatal(perr)
	}
	if n := puts.Load(); n != 1 {
		t.Errorf("the index PUT was sent %d times, want 1", n)
	}
	if len(w.Warnings) != 1 || w.Warnings[0].Kind != WarnIndexNotUpdated || !strings.Contains(w.Warnings[0].Msg, "request body too large") {
		t.Errorf("warnings = %q, want the registry's reason", Messages(w.Warnings))
	}
	var terr *transport.Error
	if !errors.As(w.Warnings[0].Err, &terr) || terr.StatusCode != http.StatusBadRequest {
		t.Errorf("warning error = %v", w.Warnings[0].Err)
	}
}

func rawPut(t *testing.T, url string, b []byte, mt types.MediaType) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s: %s", url, resp.Status)
	}
}

func mustHash(t *testing.T, s string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
