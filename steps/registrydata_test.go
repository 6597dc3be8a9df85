//go:build unix

package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// TestRegistryMediaTypeCheckedOnRead: a media type written to the registry
// by someone who bypassed put's check (here: a Request that never went
// through package inputs) never comes back from a read raw: get, list and
// history report it as unknown, with a warning that shows it escaped.
func TestRegistryMediaTypeCheckedOnRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	image := testimage.Image(t, testimage.Layout)
	const evil = "application/x$(touch${IFS}p)`id`\n"
	file := testimage.WriteValue(t, "v.txt", "v")
	if _, err := Run(ctx, Request{Operation: OpPut, Image: image, Key: "k", File: file, MediaType: evil}, Env{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, Request{Operation: OpPut, Image: image, Key: "good", File: file, MediaType: "application/spdx+json"}, Env{}); err != nil {
		t.Fatal(err)
	}
	warned := func(t *testing.T, res Result) {
		t.Helper()
		for _, w := range res.Warnings {
			if strings.Contains(w, "invalid media type") && !strings.ContainsAny(w, "\n") {
				return
			}
		}
		t.Errorf("no one-line warning about the media type: %q", res.Warnings)
	}

	res, err := Run(ctx, Request{Operation: OpGet, Image: image, Key: "k", File: t.TempDir() + "/v"}, Env{})
	if err != nil || res.Entry == nil {
		t.Fatalf("get: %+v, %v", res, err)
	}
	if res.Entry.MediaType != "" {
		t.Errorf("get: media type %q reached the result", res.Entry.MediaType)
	}
	warned(t, res)

	for _, op := range []string{OpList, OpHistory} {
		res, err := Run(ctx, Request{Operation: op, Image: image, Key: "k"}, Env{})
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		for _, e := range res.Entries {
			switch {
			case e.Key == "k" && e.MediaType != "":
				t.Errorf("%s: media type %q reached the result", op, e.MediaType)
			case e.Key == "good" && e.MediaType != "application/spdx+json":
				t.Errorf("%s: a valid media type was changed to %q", op, e.MediaType)
			}
		}
		warned(t, res)
	}
}
