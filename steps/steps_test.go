//go:build unix

package steps

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// layoutImage makes an OCI layout with one image and returns its IMAGE.
func layoutImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(64, 1)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir
}

func TestPutAndGetFiles(t *testing.T) {
	ctx := context.Background()
	image := layoutImage(t)
	var out bytes.Buffer
	env := Env{Stdin: strings.NewReader("from stdin\n"), Stdout: &out}

	// put from stdin: spooled, no title, octet-stream unless told.
	res, err := Run(ctx, Request{Operation: OpPut, Image: image, Key: "note", File: "-"}, env)
	if err != nil || res.Entry == nil || res.Entry.MediaType != "application/octet-stream" || res.Entry.Title != "" {
		t.Fatalf("put from stdin: %+v, %v", res.Entry, err)
	}

	// get -o: the file appears with the umask's permissions, whole.
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	dir := t.TempDir()
	dst := filepath.Join(dir, "note.txt")
	res, err = Run(ctx, Request{Operation: OpGet, Image: image, Key: "note", File: dst}, env)
	if err != nil || res.Path != dst || string(res.Value) != "from stdin\n" {
		t.Fatalf("get -o: %+v, %v", res, err)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("value file mode = %v, %v; want 0640 under umask 027", fi.Mode(), err)
	}

	// get to stdout.
	if _, err := Run(ctx, Request{Operation: OpGet, Image: image, Key: "note"}, env); err != nil || out.String() != "from stdin\n" {
		t.Errorf("get to stdout: %q, %v", out.String(), err)
	}

	// A failed get leaves nothing behind, not even a temporary file.
	_, err = Run(ctx, Request{Operation: OpGet, Image: image, Key: "absent", File: filepath.Join(dir, "absent.txt")}, env)
	if !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("get absent: %v", err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Errorf("dir holds %d files after a failed get, want 1 (note.txt)", len(names))
	}
}

func TestUnknownOperationAndTrustWithoutBackend(t *testing.T) {
	ctx := context.Background()
	if _, err := Run(ctx, Request{Operation: "frob", Image: "oci:/x"}, Env{}); !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("unknown operation: %v", err)
	}
	// A trust backend asked for in a build without one fails, before any
	// read: nothing unverified is returned.
	image := layoutImage(t)
	_, err := Run(ctx, Request{Operation: OpList, Image: image, Trust: TrustOptions{Backend: TrustNotary, Verify: true}}, Env{})
	if err == nil {
		t.Error("verified list without a backend succeeded")
	}
}
