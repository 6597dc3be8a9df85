package sigstore

import (
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/manifesto-dev/manifesto/internal/testimage"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// statementWith is a cosign signature statement about digest whose
// subject carries ann (nil: no annotations), values of any JSON type.
func statementWith(digest string, ann map[string]any) []byte {
	sub := map[string]any{"digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}
	if ann != nil {
		sub["annotations"] = ann
	}
	b, _ := json.Marshal(map[string]any{
		"_type": StatementType, "subject": []any{sub},
		"predicateType": PredicateType, "predicate": map[string]any{},
	})
	return b
}

// signWith signs a statement about e carrying ann with signer and attaches
// it, as `cosign sign --key -a …` does.
func (f *fixture) signWith(signer *Backend, e store.Entry, ann map[string]any) {
	f.t.Helper()
	pb, _, err := signer.bundle(f.ctx, statementWith(e.Digest, ann))
	if err != nil {
		f.t.Fatal(err)
	}
	f.attach(e, Must(protojson.Marshal(pb)))
}

// verifyWarn runs Verify and returns what it verified and the warnings.
func (f *fixture) verifyWarn(b *Backend, q trust.Query) ([]trust.Verified, []string) {
	f.t.Helper()
	var warnings []string
	q.Warn = func(w string) { warnings = append(warnings, w) }
	vs, err := b.Verify(f.ctx, q)
	if err != nil {
		f.t.Fatalf("Verify: %v", err)
	}
	return vs, warnings
}

// TestAnnotationSets: a signature may carry any of our binding annotations
// (key, image, created), as `cosign sign -a` adds them; the entry
// manifest, read by the signed digest, supplies the rest. Annotations that
// contradict the entry or the read make the signature count for nothing,
// and the read says why.
func TestAnnotationSets(t *testing.T) {
	t.Parallel()
	const (
		key     = AnnotationKey
		image   = AnnotationImage
		created = AnnotationEntryCreated
	)
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	// e is the entry signed (key "approval"), o another entry (key "scan")
	// on the same image, other another image's digest.
	for _, tt := range []struct {
		name string
		ann  func(e, o store.Entry, subject, other string) map[string]any
		// want is empty when the signature must be ignored; warn is then
		// what the warnings of a read of "approval" and of a list (every
		// key) say (one each).
		accept   bool
		warnGet  string
		warnList string
	}{
		{name: "none", accept: true, ann: func(e, o store.Entry, subject, other string) map[string]any { return nil }},
		{name: "empty", accept: true, ann: func(e, o store.Entry, subject, other string) map[string]any { return map[string]any{} }},
		{name: "key", accept: true, ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval"}
		}},
		{name: "key and image", accept: true, ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval", image: subject}
		}},
		{name: "key, image and created", accept: true, ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval", image: subject, created: stamp(e.Created)}
		}},
		{name: "image", accept: true, ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{image: subject}
		}},
		{name: "key and created", accept: true, ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval", created: stamp(e.Created)}
		}},
		{name: "created in another zone", accept: true, ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval", image: subject, created: e.Created.In(time.FixedZone("X", 3600)).Format(time.RFC3339Nano)}
		}},

		{name: "wrong key", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "deploy"}
		},
			warnGet:  `names key "deploy", the read is for key "approval": ignored`,
			warnList: `names key "deploy", entry is key "approval": ignored`},
		{name: "wrong key with image", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "deploy", image: subject}
		},
			warnGet:  `names key "deploy", the read is for key "approval": ignored`,
			warnList: `names key "deploy", entry is key "approval": ignored`},
		{name: "wrong image", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval", image: other}
		},
			warnGet:  `names image "` + "%OTHER%" + `", not this image %SUBJECT%: ignored`,
			warnList: `names image "` + "%OTHER%" + `", not this image %SUBJECT%: ignored`},
		{name: "wrong created", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval", image: subject, created: stamp(e.Created.Add(time.Hour))}
		},
			warnGet:  "says the entry was created %CREATED+1h%, entry was created %CREATED%: ignored",
			warnList: "says the entry was created %CREATED+1h%, entry was created %CREATED%: ignored"},
		{name: "wrong created without image", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval", created: stamp(e.Created.Add(-time.Second))}
		},
			warnGet:  "says the entry was created %CREATED-1s%, entry was created %CREATED%: ignored",
			warnList: "says the entry was created %CREATED-1s%, entry was created %CREATED%: ignored"},
		{name: "another entry's annotations", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "scan", image: subject, created: stamp(o.Created)}
		},
			warnGet:  `names key "scan", the read is for key "approval": ignored`,
			warnList: `names key "scan", entry is key "approval": ignored`},
		{name: "another entry's key", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "scan"}
		},
			warnGet:  `names key "scan", the read is for key "approval": ignored`,
			warnList: `names key "scan", entry is key "approval": ignored`},
		{name: "empty key", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: ""}
		},
			warnGet:  `names key "", the read is for key "approval": ignored`,
			warnList: `names key "", entry is key "approval": ignored`},
		{name: "key not a string", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: 42}
		},
			warnGet:  `has annotation dev.manifesto.key = "42", not a string: ignored`,
			warnList: `has annotation dev.manifesto.key = "42", not a string: ignored`},
		{name: "created not a time", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval", image: subject, created: "yesterday"}
		},
			warnGet:  `has annotation org.opencontainers.image.created = "yesterday", not an RFC 3339 time: ignored`,
			warnList: `has annotation org.opencontainers.image.created = "yesterday", not an RFC 3339 time: ignored`},
		{name: "control characters", ann: func(e, o store.Entry, subject, other string) map[string]any {
			return map[string]any{key: "approval\x1b[2J\nmanifesto: all good"}
		},
			warnGet:  `names key "approval\x1b[2J\nmanifesto: all good", the read is for key "approval": ignored`,
			warnList: `names key "approval\x1b[2J\nmanifesto: all good", entry is key "approval": ignored`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testimage.Referrers)
			_, signer, reader := f.keyed("ecdsa")
			e := f.put("approval", `{"v":1}`)
			o := f.put("scan", `{"v":2}`)
			_, other := f.otherImage("v2")
			f.signWith(signer, e, tt.ann(e, o, f.subject, other))
			expand := func(s string) string {
				return strings.NewReplacer("%OTHER%", other, "%SUBJECT%", f.subject,
					"%CREATED+1h%", stamp(e.Created.Add(time.Hour)), "%CREATED-1s%", stamp(e.Created.Add(-time.Second)),
					"%CREATED%", stamp(e.Created)).Replace(s)
			}
			for _, read := range []struct {
				key, warn string
			}{{"approval", tt.warnGet}, {"", tt.warnList}} {
				vs, warnings := f.verifyWarn(reader, f.query(read.key))
				for _, w := range warnings {
					if strings.ContainsFunc(w, unicode.IsControl) {
						t.Errorf("read %q: warning with a control character: %q", read.key, w)
					}
				}
				if tt.accept {
					if len(vs) != 1 || vs[0].Digest != e.Digest || vs[0].Key != "approval" || !vs[0].Created.Equal(e.Created) || len(warnings) != 0 {
						t.Errorf("read %q: verified %+v, warnings %q; want %s as approval, no warning", read.key, vs, warnings, e.Digest)
					}
					continue
				}
				want := "signature on " + e.Digest + " " + expand(read.warn)
				if len(vs) != 0 || !reflect.DeepEqual(warnings, []string{want}) {
					t.Errorf("read %q: verified %+v, warnings %q; want nothing and %q", read.key, vs, warnings, want)
				}
			}
		})
	}
}

// TestAnnotationsGoodAndBadSignature: an entry with a signature that binds
// it and one that contradicts it verifies, and says nothing of the other;
// a foreign key's contradicting signature gives no warning either (only
// what the trusted signer said is worth reporting).
func TestAnnotationsGoodAndBadSignature(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Fallback)
	_, signer, reader := f.keyed("ecdsa")
	_, foreign, _ := f.keyed("ecdsa")
	e := f.put("approval", `{"v":1}`)
	f.signWith(signer, e, map[string]any{AnnotationKey: "deploy"})
	f.signWith(signer, e, map[string]any{AnnotationKey: "approval"})
	for _, key := range []string{"approval", ""} {
		if vs, warnings := f.verifyWarn(reader, f.query(key)); len(vs) != 1 || vs[0].Digest != e.Digest || len(warnings) != 0 {
			t.Errorf("read %q: verified %+v, warnings %q", key, vs, warnings)
		}
	}
	n := f.put("approval", `{"v":2}`)
	f.signWith(foreign, n, map[string]any{AnnotationKey: "deploy"})
	if vs, warnings := f.verifyWarn(reader, f.query("approval")); len(vs) != 1 || vs[0].Digest != e.Digest || len(warnings) != 0 {
		t.Errorf("with a foreign signature: verified %+v, warnings %q", vs, warnings)
	}
}

// TestAnnotationsAgainstTheListing: with all three annotations the entry is
// not read when the listing agrees; when the listing disagrees (relabelled
// or re-dated by the registry), the entry manifest read by digest decides.
func TestAnnotationsAgainstTheListing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Referrers)
	_, signer, reader := f.keyed("ecdsa")
	e := f.put("approval", `{"v":1}`)
	f.signWith(signer, e, map[string]any{AnnotationKey: "approval", AnnotationImage: f.subject, AnnotationEntryCreated: e.Created.UTC().Format(time.RFC3339Nano)})

	counting := &countingRegistry{Registry: f.tgt}
	r := &Backend{reg: counting, keyVerifiers: reader.keyVerifiers, fingerprint: reader.fingerprint, now: time.Now}
	if vs, warnings := f.verifyWarn(r, f.query("approval")); len(vs) != 1 || len(warnings) != 0 || counting.reads.Load() != 0 {
		t.Errorf("listing agrees: verified %+v, warnings %q, %d entry reads (want none)", vs, warnings, counting.reads.Load())
	}
	// Re-dated: the entry's own created time, read by digest, wins.
	q := f.query("approval")
	q.Candidates[0].Created = time.Now().Add(time.Hour)
	if vs, warnings := f.verifyWarn(r, q); len(vs) != 1 || !vs[0].Created.Equal(e.Created) || len(warnings) != 0 || counting.reads.Load() != 1 {
		t.Errorf("re-dated listing: verified %+v, warnings %q, %d entry reads", vs, warnings, counting.reads.Load())
	}
	// Relabelled in a list of every key: the signed key, confirmed by the
	// entry manifest.
	q = f.query("")
	q.Candidates[0].Key = "deploy"
	if vs, warnings := f.verifyWarn(r, q); len(vs) != 1 || vs[0].Key != "approval" || len(warnings) != 0 {
		t.Errorf("relabelled listing: verified %+v, warnings %q", vs, warnings)
	}
}

// countingRegistry counts entry reads.
type countingRegistry struct {
	Registry
	reads atomic.Int32
}

func (c *countingRegistry) Read(ctx context.Context, key, digest string, w io.Writer) (store.Entry, error) {
	c.reads.Add(1)
	return c.Registry.Read(ctx, key, digest, w)
}
