// Package legacyfixture writes what the original manifesto
// (aquasecurity/manifesto, 2017) left in a registry, the way it wrote it,
// for the tests of migrate:
//
//   - a value is a blob uploaded by digest (POST to blobs/uploads/, then a
//     monolithic PUT ?digest=, as its registry.UploadBlob did);
//   - the per-repository index is an image built with
//     "FROM scratch\nADD <file> /data" and pushed by docker as REPO:_manifesto:
//     a Docker schema 2 manifest, a config, one gzipped tar layer holding
//     "data";
//   - its earliest versions stored a value as such an image too, pushed by
//     digest (REPO@<digest>).
//
// The registry is reached over plain HTTP (127.0.0.1 test registries).
package legacyfixture

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Value is one typed value of an image in the index.
type Value struct {
	Type   string `json:"type"`
	Digest string `json:"digest"`
}

// Image is one image of the index (the original's ImageMetadataManifesto).
type Image struct {
	ImageDigest string  `json:"image_digest"`
	Manifesto   []Value `json:"manifesto"`
}

// Index is the original's MetadataManifestoList, marshalled as it did.
func Index(images ...Image) []byte {
	b, err := json.Marshal(struct {
		Images []Image `json:"images"`
	}{images})
	if err != nil {
		panic(err)
	}
	return b
}

// Tag is one entry of the tag-keyed variant of the original README.
type Tag struct {
	Tag      string  `json:"tag"`
	Manifest []Value `json:"manifest"`
}

// TagIndex is the tag-keyed variant.
func TagIndex(tags ...Tag) []byte {
	b, err := json.Marshal(struct {
		Tags []Tag `json:"tags"`
	}{tags})
	if err != nil {
		panic(err)
	}
	return b
}

// Registry is one repository of a registry on 127.0.0.1.
type Registry struct {
	t testing.TB
	// Addr is host:port; Repo the repository path (team/app).
	Addr, Repo string
	client     *http.Client
}

// New writes to repository repo of the registry at addr (host:port).
func New(t testing.TB, addr, repo string) *Registry {
	return &Registry{t: t, Addr: addr, Repo: repo, client: &http.Client{Timeout: 30 * time.Second}}
}

// Digest is the sha256 digest of b.
func Digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// UploadBlob uploads data as the original UploadBlob did and returns its
// digest.
func (r *Registry) UploadBlob(data []byte) string {
	r.t.Helper()
	resp := r.do(http.MethodPost, "/v2/"+r.Repo+"/blobs/uploads/", "", nil, http.StatusAccepted)
	loc := resp.Header.Get("Location")
	digest := Digest(data)
	if strings.Contains(loc, "?") {
		loc += "&digest=" + digest
	} else {
		loc += "?digest=" + digest
	}
	r.do(http.MethodPut, loc, "application/octet-stream", data, http.StatusCreated)
	return digest
}

// Docker schema 2 media types, as docker push wrote them.
const (
	manifestType = "application/vnd.docker.distribution.manifest.v2+json"
	configType   = "application/vnd.docker.container.image.v1+json"
	layerType    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// PushDataImage pushes a FROM scratch image whose /data is data, under ref
// (a tag such as _manifesto, or "" to push by digest only), and returns its
// manifest digest.
func (r *Registry) PushDataImage(ref string, data []byte) string {
	r.t.Helper()
	return r.PushLayerImage(ref, DataLayer(data), data)
}

// PushLayerImage is PushDataImage with the layer given: a gzipped tar,
// or anything a test wants to try. data is what the config's diff ID is
// computed from when the layer is a valid gzip (nil: the layer itself).
func (r *Registry) PushLayerImage(ref string, layer, data []byte) string {
	r.t.Helper()
	diffID := Digest(layer)
	if zr, err := gzip.NewReader(bytes.NewReader(layer)); err == nil {
		if raw, err := io.ReadAll(zr); err == nil {
			diffID = Digest(raw)
		}
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, "Cmd": nil},
		"created":      "2017-09-20T10:00:00.000000000Z",
		"history":      []map[string]string{{"created": "2017-09-20T10:00:00.000000000Z", "created_by": "/bin/sh -c #(nop) ADD file:0123 in /data "}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	cd := r.UploadBlob(config)
	ld := r.UploadBlob(layer)
	manifest, _ := json.MarshalIndent(map[string]any{
		"schemaVersion": 2,
		"mediaType":     manifestType,
		"config":        map[string]any{"mediaType": configType, "size": len(config), "digest": cd},
		"layers":        []map[string]any{{"mediaType": layerType, "size": len(layer), "digest": ld}},
	}, "", "   ")
	md := Digest(manifest)
	if ref == "" {
		ref = md
	}
	r.do(http.MethodPut, "/v2/"+r.Repo+"/manifests/"+ref, manifestType, manifest, http.StatusCreated)
	return md
}

// DataLayer is the layer docker built for ADD <file> /data: a gzipped tar
// with the one regular file "data".
func DataLayer(data []byte) []byte {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	if err := tw.WriteHeader(&tar.Header{Name: "data", Mode: 0o644, Size: int64(len(data)),
		Typeflag: tar.TypeReg, ModTime: time.Date(2017, 9, 20, 10, 0, 0, 0, time.UTC)}); err != nil {
		panic(err)
	}
	tw.Write(data)
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	return gz.Bytes()
}

func (r *Registry) do(method, target, contentType string, body []byte, want int) *http.Response {
	r.t.Helper()
	u := target
	if strings.HasPrefix(target, "/") {
		u = "http://" + r.Addr + target
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		r.t.Fatalf("%s %s: %d, want %d: %s", method, target, resp.StatusCode, want, b)
	}
	return resp
}
