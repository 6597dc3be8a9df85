package store

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/legacyfixture"
	"github.com/manifesto-dev/manifesto/internal/testimage"
)

func TestParseLegacyData(t *testing.T) {
	t.Parallel()
	d := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		name, data string
		byTag      bool
		values     int
		bad        string // part of the error; "" = valid
	}{
		{"images", string(legacyfixture.Index(legacyfixture.Image{ImageDigest: d, Manifesto: []legacyfixture.Value{{Type: "seccomp", Digest: d}, {Type: "x", Digest: d}}})), false, 2, ""},
		{"tags", string(legacyfixture.TagIndex(legacyfixture.Tag{Tag: "repo:v1", Manifest: []legacyfixture.Value{{Type: "seccomp", Digest: d}}})), true, 1, ""},
		{"empty list", `{"images":[]}`, false, 0, ""},
		{"both", `{"images":[],"tags":[]}`, false, 0, "both"},
		{"neither", `{"other":1}`, false, 0, "neither"},
		{"corrupt", `{"images":[{"image_digest":`, false, 0, "not the original manifesto index"},
		{"wrong shape", `{"images":{"a":1}}`, false, 0, "not the original manifesto index"},
	} {
		idx, err := ParseLegacyData([]byte(tc.data))
		switch {
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad) || !errors.Is(err, errdef.ErrInvalidResponse)):
			t.Errorf("%s: %v, want an invalid-response error with %q", tc.name, err, tc.bad)
		case tc.bad == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.bad == "":
			n := 0
			for _, im := range idx.Images {
				n += len(im.Values)
			}
			if idx.ByTag != tc.byTag || n != tc.values {
				t.Errorf("%s: %+v", tc.name, idx)
			}
		}
	}
}

func tarOf(t *testing.T, entries ...tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range entries {
		body := strings.Repeat("x", int(h.Size))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return b.Bytes()
}

func TestLayerFile(t *testing.T) {
	t.Parallel()
	reg := func(name string, size int64) tar.Header {
		return tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg}
	}
	for _, tc := range []struct {
		name  string
		layer []byte
		size  int // of data; -1 = error
		bad   string
	}{
		{"docker's gzipped layer", legacyfixture.DataLayer([]byte("hello")), 5, ""},
		{"plain tar", tarOf(t, reg("data", 3)), 3, ""},
		{"./data among others", tarOf(t, reg("etc/x", 1), reg("./data", 4)), 4, ""},
		{"/data", tarOf(t, reg("/data", 2)), 2, ""},
		{"after a PAX long name", tarOf(t, tar.Header{Name: strings.Repeat("dir/", 40) + "x", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatPAX}, reg("data", 6)), 6, ""},
		{"named by a PAX record", tarOf(t, tar.Header{Name: "data", Size: 7, Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatPAX, PAXRecords: map[string]string{"path": "data", "comment": "é"}}), 7, ""},
		{"after a GNU long name", tarOf(t, tar.Header{Name: strings.Repeat("dir/", 40) + "x", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatGNU}, reg("data", 8)), 8, ""},
		{"ustar prefix", tarOf(t, tar.Header{Name: strings.Repeat("p", 120) + "/data", Size: 1, Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}, reg("data", 9)), 9, ""},
		{"cut short", tarOf(t, reg("data", 900))[:1024], -1, "bad size"},
		{"no end marker", tarOf(t, reg("other", 2))[:1024], -1, "end marker"},
		{"no data", tarOf(t, reg("other", 2)), -1, "no file /data"},
		{"data is a link", tarOf(t, tar.Header{Name: "data", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), -1, "not a regular file"},
		{"over the limit", tarOf(t, reg("data", 2000)), -1, "more than"},
		{"not a tar", []byte("neither gzip nor tar, just text long enough for a header" + strings.Repeat(".", 600)), -1, "tar"},
		{"broken gzip", []byte{0x1f, 0x8b, 0, 1, 2}, -1, "gzip"},
	} {
		b, err := LayerFile(tc.layer, "data", 1000)
		switch {
		case tc.size < 0 && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%s: %q, %v; want an error with %q", tc.name, b, err, tc.bad)
		case tc.size >= 0 && (err != nil || len(b) != tc.size):
			t.Errorf("%s: %d bytes, %v; want %d", tc.name, len(b), err, tc.size)
		}
	}
}

// TestLegacyIndexAndValues reads an index and values written as the
// original tool wrote them, on both kinds of registry.
func TestLegacyIndexAndValues(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{testimage.Referrers, testimage.Fallback} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repo := testimage.NewRepo(t, kind)
			img := subjectOf(t, repo.Push("v1"))
			addr, path, _ := strings.Cut(repo.Path, "/")
			old := legacyfixture.New(t, addr, path)
			blob := old.UploadBlob([]byte("a blob value"))
			image := old.PushDataImage("", []byte("an image value"))
			missing := legacyfixture.Digest([]byte("missing"))
			ld := old.PushDataImage(LegacyTag, legacyfixture.Index(legacyfixture.Image{ImageDigest: img,
				Manifesto: []legacyfixture.Value{{Type: "a", Digest: blob}, {Type: "b", Digest: image}}}))

			r, err := OpenRepository(ctx, repo.Path, WithAccess(Delete))
			if err != nil {
				t.Fatal(err)
			}
			idx, err := r.ReadLegacyIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if idx.Digest != ld || len(idx.Images) != 1 || idx.Images[0].Digest != img || len(idx.Images[0].Values) != 2 {
				t.Fatalf("index = %+v", idx)
			}
			for _, tc := range []struct{ digest, form, value string }{
				{blob, LegacyFormBlob, "a blob value"},
				{image, LegacyFormImage, "an image value"},
			} {
				var b bytes.Buffer
				form, err := r.FetchLegacyValue(ctx, tc.digest, &b)
				if err != nil || form != tc.form || b.String() != tc.value {
					t.Errorf("%s: %q %q %v", tc.digest, form, b.String(), err)
				}
			}
			if _, err := r.FetchLegacyValue(ctx, missing, &bytes.Buffer{}); !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("missing value: %v", err)
			}
			if ok, err := r.HasImage(ctx, img); !ok || err != nil {
				t.Errorf("HasImage(img) = %v, %v", ok, err)
			}
			if ok, err := r.HasImage(ctx, missing); ok || err != nil {
				t.Errorf("HasImage(missing) = %v, %v", ok, err)
			}
			if err := r.DeleteLegacyIndex(ctx, missing); err == nil || !strings.Contains(err.Error(), "left alone") {
				t.Errorf("delete of another index: %v", err)
			}
			if err := r.DeleteLegacyIndex(ctx, ld); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadLegacyIndex(ctx); !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("index after delete: %v", err)
			}
		})
	}
}

// FuzzLayerFile: any layer bytes, hostile ones included, end in the file
// or an error, never a panic, and never more than the limit.
func FuzzLayerFile(f *testing.F) {
	f.Add(legacyfixture.DataLayer([]byte(`{"images":[]}`)))
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "data", Size: 2, Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatPAX, PAXRecords: map[string]string{"path": "data"}})
	tw.Write([]byte("hi"))
	tw.Close()
	f.Add(b.Bytes())
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, layer []byte) {
		b, err := LayerFile(layer, "data", 4096)
		if err == nil && len(b) > 4096 {
			t.Fatalf("%d bytes, over the limit", len(b))
		}
	})
}
