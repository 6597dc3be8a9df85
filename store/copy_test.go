package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// TestCopyEveryKind copies an image with entries and a signature bundle
// from every kind of storage to every other (in-process registries with
// and without the referrers API, OCI layouts created on the way): the
// entries keep their digests, the bundle follows its entry, a second copy
// skips everything, and Prune then removes an entry with its bundle.
func TestCopyEveryKind(t *testing.T) {
	t.Parallel()
	for _, from := range testimage.Kinds {
		for _, to := range append(testimage.Kinds, "new-layout") {
			t.Run(from+"→"+to, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				src := open(t, testimage.Image(t, from), WithAccess(Write), WithClock(testimage.Clock()))
				e1, err := src.Put(ctx, "sbom", Value{Path: testimage.WriteValue(t, "a.json", `{"v":1}`)})
				if err != nil {
					t.Fatal(err)
				}
				e2, err := src.Put(ctx, "sbom", Value{Path: testimage.WriteValue(t, "a.json", `{"v":2}`)})
				if err != nil {
					t.Fatal(err)
				}
				d2, _ := src.EntryDescriptor(ctx, e2)
				sig, err := src.Attach(ctx, d2, Artifact{ArtifactType: SignatureArtifactType,
					Layers: []Layer{{MediaType: SignatureArtifactType, Data: []byte(`{"bundle":true}`)}}})
				if err != nil {
					t.Fatal(err)
				}

				var dstImage string
				switch to {
				case "new-layout":
					dir := filepath.Join(t.TempDir(), "export")
					if err := CreateLayout(dir); err != nil {
						t.Fatal(err)
					}
					dstImage = LayoutPrefix + dir
				case testimage.Layout:
					dstImage = LayoutPrefix + testimage.NewRepo(t, to).Path + ":v1"
				default:
					dstImage = testimage.NewRepo(t, to).Path + ":v1"
				}
				dst := open(t, dstImage, WithAccess(Delete))
				entries, err := src.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				res, err := dst.Copy(ctx, src, entries, true)
				if err != nil {
					t.Fatal(err)
				}
				if !res.ImageCopied || len(res.Copied) != 2 || res.Signatures != 1 {
					t.Fatalf("copy = %+v", res)
				}
				// A fresh reader of the destination.
				rd := open(t, dstImage)
				hist, err := rd.History(ctx, "sbom")
				if err != nil || len(hist) != 2 || hist[0].Digest != e2.Digest || hist[1].Digest != e1.Digest {
					t.Fatalf("history at DST = %+v, %v", hist, err)
				}
				var buf bytes.Buffer
				if _, err := rd.Read(ctx, "sbom", "", &buf); err != nil || buf.String() != `{"v":2}` {
					t.Errorf("read at DST = %q, %v", buf.String(), err)
				}
				sigs, err := rd.signatures(ctx, d2)
				if err != nil || len(sigs) != 1 || sigs[0].Digest != sig.Digest {
					t.Errorf("signatures at DST = %v, %v", sigs, err)
				}
				again, err := open(t, dstImage, WithAccess(Write)).Copy(ctx, src, entries, true)
				if err != nil || again.ImageCopied || len(again.Copied) != 0 || len(again.Skipped) != 2 || again.Signatures != 0 {
					t.Errorf("second copy = %+v, %v", again, err)
				}

				n, err := dst.Prune(ctx, hist[:1], hist[1:])
				if err != nil || n != 1 {
					t.Fatalf("prune = %d, %v", n, err)
				}
				hist, _ = open(t, dstImage).History(ctx, "sbom")
				if len(hist) != 1 || hist[0].Digest != e1.Digest {
					t.Errorf("history after prune = %+v", hist)
				}
				if has, _ := dst.hasManifest(ctx, sig.Digest); has {
					t.Errorf("signature %s survived its entry's prune", sig.Digest)
				}
			})
		}
	}
}
