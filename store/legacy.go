package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// The original tool's format (aquasecurity/manifesto, 2017), read by
// migrate. Per repository, one image tagged _manifesto: built FROM scratch
// with ADD <file> /data, so a Docker schema 2 (or OCI) manifest with one
// layer, a tar (gzipped or not) holding "data". data is JSON:
//
//	{"images": [{"image_digest": "sha256:…",
//	             "manifesto": [{"type": "seccomp", "digest": "sha256:…"}]}]}
//
// or, in the variant its README shows, keyed by tag:
//
//	{"tags": [{"tag": "repo:v1.0", "manifest": [{"type", "digest"}]}]}
//
// Each value digest names a blob of the repository; the earliest versions
// stored a value as a one-layer image instead (REPO@digest, its /data the
// value).

// LegacyTag is the tag of the original tool's per-repository index.
const LegacyTag = "_manifesto"

// Bounds of what migrate reads: the index's data and each value are read
// into memory (the original tool did the same, so nothing it wrote is
// larger), the index's data and an image-valued value's layer included.
const (
	MaxLegacyData   = 16 << 20
	MaxLegacyValue  = 64 << 20
	maxLegacyValues = 100_000
)

// LegacyIndex is the original tool's index of one repository.
type LegacyIndex struct {
	// Digest is the manifest digest of the _manifesto image.
	Digest string
	// ByTag: the tag-keyed variant (LegacyImage.Tag set, Digest not).
	ByTag  bool
	Images []LegacyImage
}

// LegacyImage is one image of the index and its typed values. Every string
// is as the index holds it: not validated, hostile.
type LegacyImage struct {
	// Digest is the image_digest (images form).
	Digest string
	// Tag is the tag as written (tags form: "repo:v1.0").
	Tag    string
	Values []LegacyValue
}

// LegacyValue is one typed value of an image.
type LegacyValue struct {
	Type   string `json:"type"`
	Digest string `json:"digest"`
}

// How a value was stored by the original tool.
const (
	LegacyFormBlob  = "blob"
	LegacyFormImage = "image"
)

// ReadLegacyIndex reads the repository's _manifesto image. ErrNotFound when
// there is none; ErrInvalidResponse when it is not the original tool's
// index (no single layer holding data, data that is not its JSON).
func (r *Repository) ReadLegacyIndex(ctx context.Context) (LegacyIndex, error) {
	b, d, err := r.m.r.getManifest(ctx, LegacyTag, manifestAccept, manifestLimit)
	if errors.Is(err, errdef.ErrNotFound) {
		return LegacyIndex{}, errdef.WithClass(fmt.Errorf("%s has no %s tag: nothing to migrate: %w", r.repo.Name(), LegacyTag, err), errdef.ErrNotFound)
	}
	if err != nil {
		return LegacyIndex{}, fmt.Errorf("read %s:%s: %w", r.repo.Name(), LegacyTag, err)
	}
	data, err := r.imageData(ctx, b, d.Digest, MaxLegacyData)
	if err != nil {
		return LegacyIndex{}, fmt.Errorf("%s:%s: %w", r.repo.Name(), LegacyTag, err)
	}
	idx, err := ParseLegacyData(data)
	if err != nil {
		return LegacyIndex{}, fmt.Errorf("%s:%s (%s): %w", r.repo.Name(), LegacyTag, d.Digest, err)
	}
	idx.Digest = d.Digest.String()
	return idx, nil
}

// ParseLegacyData parses the data file of a _manifesto image. Either form is
// accepted, not both; a document with neither is not the tool's.
func ParseLegacyData(data []byte) (LegacyIndex, error) {
	var doc struct {
		Images *[]struct {
			ImageDigest string        `json:"image_digest"`
			Manifesto   []LegacyValue `json:"manifesto"`
		} `json:"images"`
		Tags *[]struct {
			Tag      string        `json:"tag"`
			Manifest []LegacyValue `json:"manifest"`
		} `json:"tags"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return LegacyIndex{}, invalidf("data is not the original manifesto index (JSON with \"images\" or \"tags\"): %v", err)
	}
	var idx LegacyIndex
	n := 0
	switch {
	case doc.Images != nil && doc.Tags != nil:
		return LegacyIndex{}, invalidf("data has both \"images\" and \"tags\"; the original manifesto wrote one of them")
	case doc.Images != nil:
		for _, im := range *doc.Images {
			n += len(im.Manifesto)
			idx.Images = append(idx.Images, LegacyImage{Digest: im.ImageDigest, Values: im.Manifesto})
		}
	case doc.Tags != nil:
		idx.ByTag = true
		for _, tg := range *doc.Tags {
			n += len(tg.Manifest)
			idx.Images = append(idx.Images, LegacyImage{Tag: tg.Tag, Values: tg.Manifest})
		}
	default:
		return LegacyIndex{}, invalidf("data is not the original manifesto index: it has neither \"images\" nor \"tags\"")
	}
	if n > maxLegacyValues {
		return LegacyIndex{}, invalidf("data lists %d values, more than the %d migrate reads", n, maxLegacyValues)
	}
	return idx, nil
}

// FetchLegacyValue writes the value the original tool stored under digest
// to w and says how it was stored: a blob (tried first), else a one-layer
// image whose /data is the value. ErrNotFound when it is neither. A blob is
// checked against its digest; an image against its manifest digest and its
// layer's.
func (r *Repository) FetchLegacyValue(ctx context.Context, digest string, w io.Writer) (string, error) {
	h, err := v1.NewHash(digest)
	if err != nil || h.Algorithm != "sha256" {
		return "", invalidf("value digest %q is not a sha256 digest", digest)
	}
	b, err := r.readBlob(ctx, v1.Descriptor{Digest: h, Size: -1}, MaxLegacyValue)
	if err == nil {
		// Registries that keep manifests as blobs (olareg, any on OCI
		// layout storage) answer the blob request for an image-valued
		// value with its manifest: read such a one as the image it is.
		if looksLikeDataImage(b) {
			if data, err := r.imageData(ctx, b, h, MaxLegacyValue); err == nil {
				_, err = w.Write(data)
				return LegacyFormImage, err
			}
		}
		_, err = w.Write(b)
		return LegacyFormBlob, err
	}
	if !errors.Is(err, errdef.ErrNotFound) {
		return "", fmt.Errorf("read value blob %s: %w", digest, err)
	}
	mb, md, err := r.m.r.getManifest(ctx, digest, manifestAccept, manifestLimit)
	if errors.Is(err, errdef.ErrNotFound) {
		return "", errdef.NotFoundf("value %s is neither a blob nor an image of %s", digest, r.repo.Name())
	}
	if err != nil {
		return "", fmt.Errorf("read value image %s: %w", digest, err)
	}
	data, err := r.imageData(ctx, mb, md.Digest, MaxLegacyValue)
	if err != nil {
		return "", fmt.Errorf("value image %s: %w", digest, err)
	}
	_, err = w.Write(data)
	return LegacyFormImage, err
}

// looksLikeDataImage reports whether b is a one-layer image manifest
// (Docker schema 2 or OCI), the form of the earliest image-valued values.
func looksLikeDataImage(b []byte) bool {
	var m v1.Manifest
	if json.Unmarshal(b, &m) != nil || m.SchemaVersion != 2 || len(m.Layers) != 1 || m.Config.Digest.Hex == "" {
		return false
	}
	mt := documentMediaType(b)
	return mt == types.DockerManifestSchema2 || mt == types.OCIManifestSchema1
}

// DeleteLegacyIndex removes the _manifesto tag, if it still names digest
// (an index someone rewrote since it was read is left alone).
func (r *Repository) DeleteLegacyIndex(ctx context.Context, digest string) error {
	h, ok, err := r.resolveTag(ctx, LegacyTag)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	if h.String() != digest {
		return fmt.Errorf("%s:%s now names %s, not the %s migrated: left alone", r.repo.Name(), LegacyTag, h, digest)
	}
	if err := r.m.r.deleteManifest(ctx, LegacyTag); err != nil {
		return fmt.Errorf("delete %s:%s: %w", r.repo.Name(), LegacyTag, err)
	}
	return nil
}

// readBlob reads blob d (its size -1 when unknown) into memory, at most
// limit bytes, checked against its digest.
func (r *Repository) readBlob(ctx context.Context, d v1.Descriptor, limit int64) ([]byte, error) {
	if d.Size > limit {
		return nil, invalidf("blob %s is %d bytes, more than the %d migrate reads", d.Digest, d.Size, limit)
	}
	rc, err := r.m.r.openBlob(ctx, d.Digest, d.Size)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := readCapped(rc, limit, "blob "+d.Digest.String())
	if err != nil {
		return nil, err
	}
	if d.Size >= 0 && int64(len(b)) != d.Size {
		return nil, invalidf("blob %s is %d bytes, its manifest says %d", d.Digest, len(b), d.Size)
	}
	if err := checkDigest(b, d.Digest); err != nil {
		return nil, err
	}
	return b, nil
}

// imageData returns the file /data of a one-layer image (manifest b of
// digest h), at most limit bytes.
func (r *Repository) imageData(ctx context.Context, b []byte, h v1.Hash, limit int64) ([]byte, error) {
	var m v1.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, invalidf("image %s is not an image manifest: %v", h, err)
	}
	switch mt := documentMediaType(b); mt {
	case types.DockerManifestSchema2, types.OCIManifestSchema1, "":
	default:
		return nil, invalidf("image %s is a %q, not a single image (Docker schema 2 or OCI manifest)", h, mt)
	}
	if len(m.Layers) != 1 {
		return nil, invalidf("image %s has %d layers; the original manifesto wrote one (FROM scratch, ADD … /data)", h, len(m.Layers))
	}
	layer, err := r.readBlob(ctx, m.Layers[0], limit)
	if err != nil {
		return nil, fmt.Errorf("read layer of image %s: %w", h, err)
	}
	data, err := LayerFile(layer, "data", limit)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", h, err)
	}
	return data, nil
}

// LayerFile returns the regular file name (a path from the root, "data"
// for /data) in layer, a tar archive, gzipped or not, reading at most
// limit bytes of it (decompressed: a gzip bomb stops there).
func LayerFile(layer []byte, name string, limit int64) ([]byte, error) {
	var src io.Reader = bytes.NewReader(layer)
	if len(layer) >= 2 && layer[0] == 0x1f && layer[1] == 0x8b {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, invalidf("layer is not a valid gzip stream: %v", err)
		}
		src = zr
	}
	// The archive around the file may hold a little more than the file.
	tarLimit := limit + 1<<20
	b, err := io.ReadAll(io.LimitReader(src, tarLimit+1))
	if err != nil {
		return nil, invalidf("layer is not a valid gzip stream: %v", err)
	}
	if int64(len(b)) > tarLimit {
		return nil, invalidf("layer is more than the %d bytes migrate reads", tarLimit)
	}
	return tarFile(b, name, limit)
}

// tarFile finds the regular file name in the tar archive b. It reads what
// docker, BuildKit and Go's archive/tar write (V7, USTAR, GNU long names,
// PAX path records); it is not a general tar reader (package archive/tar's
// reader would add 20 KB to a binary that counts them), only enough to find
// one file, with every offset checked against b.
func tarFile(b []byte, name string, limit int64) ([]byte, error) {
	const block = 512
	want := "/" + name
	longName := ""
	for off := 0; ; {
		if off+block > len(b) {
			return nil, invalidf("layer has no file /%s (the tar archive ends without its end marker)", name)
		}
		h := b[off : off+block]
		if bytes.Count(h, []byte{0}) == block {
			return nil, invalidf("layer has no file /%s", name)
		}
		if !tarChecksumOK(h) {
			return nil, invalidf("layer is not a valid tar archive (header at %d fails its checksum)", off)
		}
		size, ok := tarNumber(h[124:136])
		if !ok || size < 0 || size > int64(len(b)-off-block) {
			return nil, invalidf("layer is not a valid tar archive (entry at %d has a bad size)", off)
		}
		body := b[off+block : off+block+int(size)]
		off += block + int((size+block-1)/block*block)
		entry := tarString(h[0:100])
		if string(h[257:263]) == "ustar\x00" {
			if prefix := tarString(h[345:500]); prefix != "" {
				entry = prefix + "/" + entry
			}
		}
		if longName != "" {
			entry, longName = longName, ""
		}
		switch typ := h[156]; typ {
		case 'L': // GNU: the next entry's name
			longName = tarString(body)
			continue
		case 'x': // PAX: records for the next entry, "%d path=…\n" among them
			longName = paxPath(body)
			continue
		case 'g', 'K': // global PAX records, GNU long link names
			continue
		default:
			if path.Clean("/"+entry) != want {
				continue
			}
			if typ != '0' && typ != 0 && typ != '7' {
				return nil, invalidf("/%s in the layer is not a regular file", name)
			}
			if size > limit {
				return nil, invalidf("/%s is %d bytes, more than the %d migrate reads", name, size, limit)
			}
			return body, nil
		}
	}
}

// tarString is a NUL-terminated header field.
func tarString(f []byte) string {
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	}
	return string(f)
}

// tarNumber parses a numeric header field: octal text, or base-256 (the
// high bit of the first byte set) for large values.
func tarNumber(f []byte) (int64, bool) {
	if len(f) > 0 && f[0]&0x80 != 0 {
		var n int64
		for i, c := range f {
			if i == 0 {
				c &= 0x7f
			}
			if n > (1<<62)>>8 {
				return 0, false
			}
			n = n<<8 | int64(c)
		}
		return n, true
	}
	s := strings.Trim(string(f), " \x00")
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 8, 64)
	return n, err == nil
}

// tarChecksumOK checks a header's checksum: the sum of its bytes with the
// checksum field read as spaces (unsigned, or signed as some old tars
// wrote it).
func tarChecksumOK(h []byte) bool {
	want, ok := tarNumber(h[148:156])
	if !ok {
		return false
	}
	var u, s int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		u += int64(c)
		s += int64(int8(c))
	}
	return want == u || want == s
}

// paxPath is the path record of PAX extended header records, "" when none.
func paxPath(b []byte) string {
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp <= 0 {
			return ""
		}
		n, err := strconv.Atoi(string(b[:sp]))
		if err != nil || n <= sp+1 || n > len(b) {
			return ""
		}
		rec := string(b[sp+1 : n])
		b = b[n:]
		if k, v, ok := strings.Cut(strings.TrimSuffix(rec, "\n"), "="); ok && k == "path" {
			return v
		}
	}
	return ""
}

// NewestValue returns the newest readable version of key on the image and
// the digest of its value (fetching that entry's manifest); found is false
// when the key has no version.
func (t *Target) NewestValue(ctx context.Context, key string) (e Entry, valueDigest string, found bool, err error) {
	history, err := t.History(ctx, key)
	if err != nil {
		return Entry{}, "", false, err
	}
	subject, _ := t.Subject(ctx)
	for _, e := range history {
		h, err := v1.NewHash(e.Digest)
		if err != nil {
			return Entry{}, "", false, invalidf("entry digest %q: %v", e.Digest, err)
		}
		b, err := t.b.manifest(ctx, h)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // listed but gone, as Read skips it
		}
		if err != nil {
			return Entry{}, "", false, fmt.Errorf("read entry %s: %w", e.Digest, err)
		}
		p, err := parseEntry(b, h, subject.Digest, key)
		if err != nil {
			return Entry{}, "", false, err
		}
		return p.entry, p.value.Digest.String(), true, nil
	}
	return Entry{}, "", false, nil
}

// ValueDigest is the digest a value of these bytes has once stored.
func ValueDigest(b []byte) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b))
}
