package store

// Native fuzz targets for everything the store parses from a user or a
// registry: image references, keys, referrers indexes, entry manifests and
// descriptors, tag listings and Link headers. Seed corpora live under
// testdata/fuzz/<FuzzName>/ and run as ordinary tests; scripts/fuzz.sh runs
// each target for a while.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

const (
	fuzzHexA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	fuzzHexB = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
)

// FuzzParseImage: ParseImage never panics; every error is ErrUsage-class;
// a parsed location renders (String) to text that parses to an equal
// location, and that rendering is a fixed point.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{
		"alpine", "alpine:3.20", "library/alpine", "docker.io/alpine",
		"registry.example.com:5000/team/app:1.4",
		"ghcr.io/acme/app@sha256:" + fuzzHexA,
		"ghcr.io/acme/app:1.4@sha256:" + fuzzHexA,
		"localhost:5000/app", "127.0.0.1:5000/app", "[::1]:5000/app:v1",
		"oci:./build/layout", "oci:./layout:v1", "oci:./layout@sha256:" + fuzzHexA,
		"oci:/abs/path:with:colons/dir", "oci:C:\\layout", "oci:dir:", "oci:", "oci::v1",
		"oci:x@y", "oci:a@sha256:" + fuzzHexA + ":v1", "oci: ", "OCI:5000/app",
		"", " ", "UPPER/case", "a//b", "a:b:c", "registry/@sha256:" + fuzzHexA, "a\nb",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, image string, plainHTTP bool) {
		loc, err := ParseImage(image, plainHTTP)
		if err != nil {
			if !errors.Is(err, errdef.ErrUsage) {
				t.Fatalf("ParseImage(%q) error %v is not ErrUsage-class", image, err)
			}
			return
		}
		if !loc.IsLayout() && loc.Ref == nil {
			t.Fatalf("ParseImage(%q) = %+v: neither layout nor reference", image, loc)
		}
		if loc.IsLayout() && loc.LayoutTag != "" && loc.LayoutDigest != "" {
			t.Fatalf("ParseImage(%q) = %+v: both tag and digest", image, loc)
		}
		s := loc.String()
		again, err := ParseImage(s, plainHTTP)
		if err != nil {
			t.Fatalf("ParseImage(%q) = %q, which does not parse: %v", image, s, err)
		}
		if !sameLocation(loc, again) {
			t.Fatalf("ParseImage(%q) = %s, re-parsed as %s", image, describeLocation(loc), describeLocation(again))
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String is not a fixed point: %q -> %q -> %q", image, s, s2)
		}
	})
}

func sameLocation(a, b Location) bool {
	if a.IsLayout() || b.IsLayout() {
		return a.Layout == b.Layout && a.LayoutTag == b.LayoutTag && a.LayoutDigest == b.LayoutDigest && a.Ref == nil && b.Ref == nil
	}
	return describeLocation(a) == describeLocation(b)
}

// describeLocation spells out every part of a location that matters.
func describeLocation(l Location) string {
	if l.IsLayout() {
		return "layout " + strconv.Quote(l.Layout) + " tag " + strconv.Quote(l.LayoutTag) + " digest " + strconv.Quote(l.LayoutDigest)
	}
	r := l.Ref
	c := r.Context()
	return reflect.TypeOf(r).String() + " " + strconv.Quote(r.Name()) + " registry " + strconv.Quote(c.RegistryStr()) +
		" repo " + strconv.Quote(c.RepositoryStr()) + " id " + strconv.Quote(r.Identifier()) + " scheme " + c.Scheme()
}

// keyOK is the KEY grammar of README.md, written without regular
// expressions: 1 to 128 characters out of a-z 0-9 . _ -, the first and the
// last a letter or digit.
func keyOK(k string) bool {
	if len(k) == 0 || len(k) > 128 {
		return false
	}
	alnum := func(c byte) bool { return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') }
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return alnum(k[0]) && alnum(k[len(k)-1])
}

// FuzzCheckKey: CheckKey accepts exactly the documented grammar (compared
// with keyOK), and its errors are ErrUsage-class.
func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{
		"test-results", "seccomp", "scan.trivy", "a", "0", "a_b", "a..b", "a--b",
		"", "-a", "a-", ".a", "a.", "_a", "a_", "A", "sbom\n", "\nsbom", "a b", "é", "a/b",
		strings.Repeat("k", 128), strings.Repeat("k", 129), "a\x00", "k\u0130",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := CheckKey(key)
		if want := keyOK(key); (err == nil) != want {
			t.Fatalf("CheckKey(%q) = %v, want valid=%v", key, err, want)
		}
		if err != nil && !errors.Is(err, errdef.ErrUsage) {
			t.Fatalf("CheckKey(%q) error %v is not ErrUsage-class", key, err)
		}
	})
}

// FuzzParseReferrerIndex: parseReferrerIndex never panics on arbitrary
// bytes; errors are ErrInvalidResponse-class; an index it accepts lists no
// digest twice and only fetchable descriptors, and Marshal -> parse gives the
// same index (and the same bytes on the next Marshal).
func FuzzParseReferrerIndex(f *testing.F) {
	desc := func(hex, extra string) string {
		return `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hex + `","size":512` + extra + `}`
	}
	for _, s := range []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`,
		`{"schemaVersion":2,"manifests":[` + desc(fuzzHexA, `,"artifactType":"application/vnd.manifesto.metadata.v1","annotations":{"dev.manifesto.key":"sbom","org.opencontainers.image.created":"2026-11-26T21:53:55.265793086Z"}`) + `]}`,
		`{"schemaVersion":2,"manifests":[` + desc(fuzzHexA, "") + `,` + desc(fuzzHexA, `,"annotations":{"x":"dup"}`) + `,` + desc(fuzzHexB, "") + `]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"sha256:` + fuzzHexA + `","size":-1},{"size":5},{"digest":"sha256:` + fuzzHexB + `","size":99999999999}]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"sha512:` + fuzzHexA + fuzzHexA + `","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8","os.features":["a"]},"urls":[],"data":"e30="}]}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}`,
		`{"schemaVersion":1}`, `{"schemaVersion":2,"manifests":null}`, `{"schemaVersion":2,"manifests":{}}`,
		`{"schemaVersion":2,"manifests":[{"digest":null}]}`, `{"schemaVersion":2,"manifests":[{"digest":"sha256:ABC"}]}`,
		`{"schemaVersion":2,"schemaVersion":2,"manifests":[],"manifests":[` + desc(fuzzHexB, "") + `]}`,
		`{"schemaVersion":2.0}`, `{"schemaVersion":"2"}`, `[]`, `null`, ``, `{`, "\xff\xfe",
		`{"schemaVersion":2,"manifests":[{"digest":"sha256:` + fuzzHexA + `","size":1,"annotations":{"k":"\ud800 \u0000 \xff"}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := parseReferrerIndex(b)
		if err != nil {
			if !errors.Is(err, errdef.ErrInvalidResponse) {
				t.Fatalf("error %v is not ErrInvalidResponse-class", err)
			}
			return
		}
		checkIndexInvariants(t, idx)
		out, err := idx.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := parseReferrerIndex(out)
		if err != nil {
			t.Fatalf("Marshal output %q does not parse: %v", out, err)
		}
		checkIndexInvariants(t, again)
		if len(again.Descriptors()) != len(idx.Descriptors()) {
			t.Fatalf("round trip kept %d of %d descriptors: %s", len(again.Descriptors()), len(idx.Descriptors()), out)
		}
		for i, d := range idx.Descriptors() {
			if d2 := again.Descriptors()[i]; !sameDescriptor(d, d2) {
				t.Fatalf("descriptor %d changed in the round trip:\n%+v\n%+v", i, d, d2)
			}
		}
		out2, err := again.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not stable (%v):\n%s\n%s", err, out, out2)
		}
		var doc struct {
			SchemaVersion int64           `json:"schemaVersion"`
			MediaType     types.MediaType `json:"mediaType"`
			Manifests     []any           `json:"manifests"`
		}
		if err := json.Unmarshal(out, &doc); err != nil || doc.SchemaVersion != 2 || doc.MediaType != types.OCIImageIndex || doc.Manifests == nil {
			t.Fatalf("Marshal wrote %s (%v), not an OCI image index with a manifests array", out, err)
		}
	})
}

func checkIndexInvariants(t *testing.T, idx *referrerIndex) {
	t.Helper()
	seen := map[v1.Hash]bool{}
	for _, d := range idx.Descriptors() {
		if seen[d.Digest] {
			t.Fatalf("digest %s listed twice", d.Digest)
		}
		seen[d.Digest] = true
		if _, err := v1.NewHash(d.Digest.String()); err != nil {
			t.Fatalf("descriptor with invalid digest %q kept: %v", d.Digest, err)
		}
		if d.Size < 0 || d.Size > manifestLimit {
			t.Fatalf("descriptor %s with size %d kept", d.Digest, d.Size)
		}
		if !idx.Contains(d.Digest) {
			t.Fatalf("Contains(%s) = false for a listed digest", d.Digest)
		}
	}
}

// sameDescriptor compares descriptors by their JSON form, which is what the
// index stores.
func sameDescriptor(a, b v1.Descriptor) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// FuzzParseEntry: parseEntry never panics; every error is
// ErrInvalidResponse-class; bytes that do not hash to the wanted digest are
// always refused; an accepted entry is exactly what the manifest says (key,
// subject, one layer of non-negative size) and its Entry describes that
// layer.
//
// mode bit 0: the wanted digest is the bytes' real digest (else one byte
// off); bit 1: subject and key are taken from the document itself (else from
// the arguments); bit 2: the wanted digest is a sha512 one.
func FuzzParseEntry(f *testing.F) {
	created := time.Date(2026, 11, 26, 21, 53, 55, 265793086, time.UTC)
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: fuzzHexA}, Size: 1234}
	value := v1.Descriptor{MediaType: "application/json", Digest: v1.Hash{Algorithm: "sha256", Hex: fuzzHexB}, Size: 13,
		Annotations: map[string]string{AnnotationTitle: "results.json"}}
	good, _, err := entryManifest(subject, "test-results", value, created)
	if err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{
		good,
		bytes.Replace(good, []byte(`"layers":[`), []byte(`"layers":[{"mediaType":"x","digest":"sha256:`+fuzzHexA+`","size":1},`), 1),
		bytes.Replace(good, []byte(`"size":13`), []byte(`"size":-13`), 1),
		bytes.Replace(good, []byte(`"artifactType":"application/vnd.manifesto.metadata.v1",`), nil, 1),
		bytes.Replace(good, []byte(`"mediaType":"application/vnd.oci.image.manifest.v1+json",`), []byte(`"mediaType":"application/vnd.oci.image.index.v1+json",`), 1),
		bytes.Replace(good, []byte(`"subject"`), []byte(`"subjekt"`), 1),
		bytes.Replace(good, []byte(`2026-11-26T21:53:55.265793086Z`), []byte(`9999-12-31T23:59:59-23:59`), 1),
		[]byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.manifesto.metadata.v1"},"layers":[{"digest":"sha256:` + fuzzHexB + `","size":0}],"subject":{"digest":"sha256:` + fuzzHexA + `"},"annotations":{"dev.manifesto.key":"k"}}`),
		[]byte(`{"layers":null,"subject":null}`), []byte(`{"layers":[{}]}`), []byte(`[]`), []byte(`null`), []byte(``), []byte("\x00"),
	}
	for _, s := range seeds {
		for _, mode := range []uint8{1, 3, 0, 7} {
			f.Add(s, "sha256:"+fuzzHexA, "test-results", mode)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, subjectStr, key string, mode uint8) {
		sum := sha256.Sum256(b)
		want := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
		honest := mode&1 != 0
		if !honest {
			sum[0] ^= 1
			want.Hex = hex.EncodeToString(sum[:])
		}
		if mode&4 != 0 {
			honest = false
			want = v1.Hash{Algorithm: "sha512", Hex: strings.Repeat(want.Hex, 2)}
		}
		subjectHash, err := v1.NewHash(subjectStr)
		if err != nil {
			subjectHash = v1.Hash{Algorithm: "sha256", Hex: fuzzHexA}
		}
		if mode&2 != 0 {
			var probe struct {
				Subject     *struct{ Digest string } `json:"subject"`
				Annotations map[string]string        `json:"annotations"`
			}
			if json.Unmarshal(b, &probe) == nil {
				if probe.Subject != nil {
					if h, err := v1.NewHash(probe.Subject.Digest); err == nil {
						subjectHash = h
					}
				}
				key = probe.Annotations[AnnotationKey]
			}
		}

		pe, err := parseEntry(b, want, subjectHash, key)
		if err != nil {
			if !errors.Is(err, errdef.ErrInvalidResponse) {
				t.Fatalf("error %v is not ErrInvalidResponse-class", err)
			}
			return
		}
		if !honest {
			t.Fatalf("parseEntry accepted bytes that do not hash to %s", want)
		}
		m := pe.manifest
		switch {
		case m.Subject == nil || m.Subject.Digest != subjectHash:
			t.Fatalf("accepted an entry whose subject is %+v, not %s", m.Subject, subjectHash)
		case m.Annotations[AnnotationKey] != key:
			t.Fatalf("accepted an entry for key %q as %q", m.Annotations[AnnotationKey], key)
		case len(m.Layers) != 1:
			t.Fatalf("accepted an entry with %d layers", len(m.Layers))
		case m.MediaType != "" && m.MediaType != types.OCIManifestSchema1:
			t.Fatalf("accepted media type %q", m.MediaType)
		case m.ArtifactType != ArtifactType && m.Config.MediaType != ArtifactType:
			t.Fatalf("accepted artifact type %q (config %q)", m.ArtifactType, m.Config.MediaType)
		}
		e := pe.entry
		v := pe.value
		switch {
		case !reflect.DeepEqual(v, m.Layers[0]):
			t.Fatalf("value %+v is not the layer %+v", v, m.Layers[0])
		case v.Size < 0 || e.Size != v.Size:
			t.Fatalf("entry size %d, value size %d", e.Size, v.Size)
		case e.Key != key || e.Digest != want.String():
			t.Fatalf("entry %+v for key %q digest %s", e, key, want)
		case e.MediaType != string(v.MediaType) || e.Title != v.Annotations[AnnotationTitle]:
			t.Fatalf("entry %+v does not describe value %+v", e, v)
		case e.Created.Location() != time.UTC:
			t.Fatalf("created %v is not UTC", e.Created)
		}
	})
}

// FuzzEntryFromDescriptor: entryFromDescriptor never panics; it takes
// exactly the descriptors of entry artifact type with a valid key, and
// copies what the annotations say.
func FuzzEntryFromDescriptor(f *testing.F) {
	for _, at := range []string{ArtifactType, "application/vnd.oci.empty.v1+json", "", "application/vnd.example+json"} {
		f.Add(at, "sbom", "2026-11-26T21:53:55.265793086Z", "application/json", "13", fuzzHexA, "results.json")
	}
	for _, s := range [][]string{
		{"", "", "", "", "", "", ""},
		{"Sbom", "not a time", "", "-1", "zz"},
		{"a-", "2026-11-26T21:53:55+02:00", "text/plain", "9223372036854775807"},
		{"k", "9999-12-31T23:59:59-23:59", "x", "9223372036854775808"},
		{"k", "0000-01-01T00:00:00+23:59", "", "+5"},
		{strings.Repeat("k", 129), "2026-11-26T21:53:55Z", "", " 5"},
		{"k\n", "2026-11-26T21:53:55.Z", "", "0x10"},
		{"ok", "2026-02-30T00:00:00Z", "\xff", "007"},
		{"k", "0000-01-01T0:00:00Z", "", "0"}, // a one-digit hour, which time.Parse takes
		{"k", "2026-11-26T21:53:55+2:00", "", "0"},
		{"k", "2026-11-26T21:53:55.1234567890Z", "", "0"},
		{"k", "0000-01-01T00:00:00+00:60", "", "0"},
	} {
		s = append(s, make([]string, 7-len(s))...)
		f.Add(ArtifactType, s[0], s[1], s[2], s[3], fuzzHexB, s[4])
	}
	f.Fuzz(func(t *testing.T, artifactType, key, created, mediaType, size, digestHex, title string) {
		d := v1.Descriptor{
			MediaType:    types.OCIManifestSchema1,
			ArtifactType: artifactType,
			Size:         100,
			Annotations: map[string]string{
				AnnotationKey:       key,
				AnnotationCreated:   created,
				AnnotationMediaType: mediaType,
				AnnotationSize:      size,
				AnnotationTitle:     title,
			},
		}
		if h, err := v1.NewHash("sha256:" + digestHex); err == nil {
			d.Digest = h
		}
		e, ok := entryFromDescriptor(d)
		wantOK := (artifactType == ArtifactType || artifactType == "application/vnd.oci.empty.v1+json") && keyOK(key)
		if ok != wantOK {
			t.Fatalf("entryFromDescriptor(artifactType %q, key %q) ok = %v, want %v", artifactType, key, ok, wantOK)
		}
		if !ok {
			return
		}
		if e.Key != key || e.Digest != d.Digest.String() || e.MediaType != mediaType {
			t.Fatalf("entry %+v from descriptor %+v", e, d)
		}
		if want := decimalSize(size); e.Size != want {
			t.Fatalf("size annotation %q gave %d, want %d", size, e.Size, want)
		}
		if e.Created.Location() != time.UTC {
			t.Fatalf("created %v is not UTC", e.Created)
		}
		if want, ok := rfc3339Time(created); ok {
			if !e.Created.Equal(want) {
				t.Fatalf("created %q gave %v, want %v", created, e.Created, want)
			}
		} else if !e.Created.IsZero() {
			t.Fatalf("created %q is not RFC 3339, gave %v, want the zero time", created, e.Created)
		}
	})
}

// decimalSize is the size an annotation must give, written without strconv:
// an optional sign and one or more ASCII digits whose value fits an int64
// and is not negative; anything else is -1 (unknown).
func decimalSize(s string) int64 {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" {
		return -1
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return -1 // overflows int64
		}
		n = n*10 + d
	}
	if neg && n != 0 {
		return -1
	}
	return n
}

// rfc3339Time reads the strict RFC 3339 form writers use,
// YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|±HH:MM), with every field in range, by
// hand (no time.Parse), and returns the instant in UTC. ok is false for
// anything else, on which the oracle holds no opinion beyond shape.
func rfc3339Time(s string) (time.Time, bool) {
	num := func(i, n int) (int, bool) {
		if i+n > len(s) {
			return 0, false
		}
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	at := func(i int, c byte) bool { return i < len(s) && s[i] == c }
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && at(4, '-') && at(7, '-') && at(10, 'T') && at(13, ':') && at(16, ':')) {
		return time.Time{}, false
	}
	leap := year%4 == 0 && (year%100 != 0 || year%400 == 0)
	monthDays := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if leap {
		monthDays[2] = 29
	}
	if month < 1 || month > 12 || day < 1 || day > monthDays[month] || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if at(i, '.') {
		digits := 0
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			nsec = nsec*10 + int(s[i]-'0')
			digits++
		}
		if digits == 0 || digits > 9 {
			return time.Time{}, false
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
	}
	offset := 0
	switch {
	case at(i, 'Z') && i+1 == len(s):
	case (at(i, '+') || at(i, '-')) && at(i+3, ':') && i+6 == len(s):
		oh, okh := num(i+1, 2)
		om, okm := num(i+4, 2)
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if s[i] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	// The wall clock at that offset, minus the offset, is UTC.
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).Add(-time.Duration(offset) * time.Second), true
}

// FuzzParseTags: parseTags never panics; errors are ErrInvalidResponse-class;
// what it returns survives a tags/list round trip.
func FuzzParseTags(f *testing.F) {
	for _, s := range []string{
		`{"name":"team/app","tags":["v1","sha256-` + fuzzHexA + `","sha256-` + fuzzHexA + `.mf-0123456789abcdef0123456789abcdef01234567"]}`,
		`{"name":"team/app","tags":[]}`, `{"name":"team/app","tags":null}`, `{"tags":["a","a",""]}`,
		`{"tags":[1,2]}`, `{"tags":"v1"}`, `{"tags":[null]}`, `{"tags":["\u0000\ud800\udc00\xff"]}`,
		`{}`, `[]`, `null`, ``, `{"tags":["v1"]} trailing`, `{"TAGS":["upper"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tags, err := parseTags(b)
		if err != nil {
			if !errors.Is(err, errdef.ErrInvalidResponse) {
				t.Fatalf("error %v is not ErrInvalidResponse-class", err)
			}
			return
		}
		out, err := json.Marshal(map[string]any{"name": "team/app", "tags": tags})
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseTags(out)
		if err != nil {
			t.Fatalf("parseTags(%s): %v", out, err)
		}
		if !slices.Equal(tags, again) {
			t.Fatalf("round trip %q -> %q", tags, again)
		}
	})
}

// FuzzNextLink: given a response to a request on some registry and an
// arbitrary Link header, nextLink never panics, errors are
// ErrInvalidResponse-class, and a URL it returns is on the request's host,
// absolute, and (when the header is well-formed RFC 8288) the target of a
// link whose relation types include "next".
func FuzzNextLink(f *testing.F) {
	bases := []string{
		"https://registry.example.com/v2/team/app/tags/list?last=sha256-x.mf-&n=1000",
		"http://127.0.0.1:5000/v2/team/app/referrers/sha256:" + fuzzHexA,
		"https://[::1]:5000/v2/a/tags/list",
	}
	for _, l := range []string{
		`</v2/team/app/tags/list?last=v9&n=1000>; rel="next"`,
		`<https://registry.example.com/v2/team/app/tags/list?last=b>; rel="next"`,
		`<https://evil.example.com/v2/team/app/tags/list>; rel="next"`,
		`<//evil.example.com/x>; rel="next"`,
		`<https://registry.example.com@evil.example.com/x>; rel="next"`,
		`<https://evil.example.com#@registry.example.com/x>; rel="next"`,
		`<https://registry.example.com:443/x>; rel="next"`,
		`<?last=z>; rel="next"`, `<>; rel="next"`, `<%zz>; rel="next"`, `<:>; rel="next"`,
		`</v2/a/tags/list?last=b>; rel="next", </v2/a/tags/list?last=c>; rel="last"`,
		`</a>; rel="next prev"`, `</a>; rel=next`, `</a>; REL="NEXT"`, `</a>; title="rel=\"next\""`,
		`>< rel="next"`, `rel="next" <`, `</a>`, ``, `<`, `<<>>; rel="next"`,
		"</a\r\n>; rel=\"next\"", `<javascript:alert(1)>; rel="next"`, `<http://[::1>; rel="next"`,
	} {
		for i := range bases {
			f.Add(l, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, link string, base uint8) {
		reqURL, err := url.Parse(bases[int(base)%len(bases)])
		if err != nil {
			t.Fatal(err)
		}
		resp := &http.Response{Header: http.Header{}, Request: &http.Request{Method: http.MethodGet, URL: reqURL}}
		if link != "" {
			resp.Header["Link"] = []string{link}
		}
		next, err := nextLink(resp)
		if err != nil {
			if !errors.Is(err, errdef.ErrInvalidResponse) {
				t.Fatalf("error %v is not ErrInvalidResponse-class", err)
			}
			if next != "" {
				t.Fatalf("returned %q together with error %v", next, err)
			}
			return
		}
		if next == "" {
			return
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatalf("returned %q, which does not parse: %v", next, err)
		}
		if u.Host != reqURL.Host || !u.IsAbs() {
			t.Fatalf("Link %q on %s: returned %q, host %q", link, reqURL, next, u.Host)
		}
		if targets, ok := nextTargets(link); ok {
			for _, target := range targets {
				if r, err := reqURL.Parse(target); err == nil && r.String() == next {
					return
				}
			}
			t.Fatalf("Link %q on %s: returned %q, which is not a rel=\"next\" target (those are %q)", link, reqURL, next, targets)
		}
	})
}

// nextTargets parses a Link header value as RFC 8288 section 3 defines it
// (link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ), values
// separated by commas; link-param = token BWS [ "=" BWS ( token /
// quoted-string ) ]) and returns the targets of the links whose rel holds the
// relation type "next" (case-insensitive, rel being a space-separated list).
// ok is false when the header is not well-formed.
func nextTargets(h string) (targets []string, ok bool) {
	i := 0
	ows := func() {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
	}
	isTchar := func(c byte) bool {
		return c > 0x20 && c < 0x7f && !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", rune(c))
	}
	token := func() string {
		start := i
		for i < len(h) && isTchar(h[i]) {
			i++
		}
		return h[start:i]
	}
	for {
		ows()
		if i == len(h) {
			return targets, true
		}
		if h[i] != '<' {
			return nil, false
		}
		end := strings.IndexByte(h[i:], '>')
		if end < 0 {
			return nil, false
		}
		target := h[i+1 : i+end]
		if strings.ContainsAny(target, "<> \t\r\n\"") {
			return nil, false
		}
		i += end + 1
		isNext := false
		for {
			ows()
			if i == len(h) || h[i] == ',' {
				break
			}
			if h[i] != ';' {
				return nil, false
			}
			i++
			ows()
			name := token()
			if name == "" {
				return nil, false
			}
			ows()
			var value string
			if i < len(h) && h[i] == '=' {
				i++
				ows()
				if i < len(h) && h[i] == '"' {
					i++
					var b strings.Builder
					closed := false
					for i < len(h) {
						c := h[i]
						i++
						if c == '\\' && i < len(h) {
							b.WriteByte(h[i])
							i++
							continue
						}
						if c == '"' {
							closed = true
							break
						}
						b.WriteByte(c)
					}
					if !closed {
						return nil, false
					}
					value = b.String()
				} else {
					value = token()
				}
			}
			if strings.EqualFold(name, "rel") {
				for _, rel := range strings.Fields(value) {
					if strings.EqualFold(rel, "next") {
						isNext = true
					}
				}
			}
		}
		if isNext {
			targets = append(targets, target)
		}
		if i < len(h) && h[i] == ',' {
			i++
		}
	}
}
