package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// CopyOptions are copy's settings. Request.Image is the source.
type CopyOptions struct {
	// Destination is where to copy to (a registry reference or an OCI
	// layout, created when missing).
	Destination string
	// Keys limits the copy to these keys; empty copies every key.
	Keys []string
	// Latest copies only the newest version of each key.
	Latest bool
	// MetadataOnly leaves the image alone: the destination must have it.
	MetadataOnly bool
	// Registry is the destination's connection settings (Request.Registry
	// is the source's).
	Registry RegistryOptions
}

// CopyResult is what copy did.
type CopyResult struct {
	Destination string `json:"destination"`
	// ImageCopied is true when the destination lacked the image.
	ImageCopied bool `json:"imageCopied"`
	// Copied and Skipped (already at the destination) are entries of the
	// source, newest first.
	Copied  []store.Entry `json:"copied"`
	Skipped []store.Entry `json:"skipped"`
	// Signatures counts the signature bundles copied; Signed the entries
	// signed at the destination (Notary).
	Signatures int `json:"signatures"`
	Signed     int `json:"signed"`
}

// runCopy copies the image (unless MetadataOnly) and the selected entries
// of req.Image to req.Copy.Destination. With trust, only entries verified
// at the source are copied, and each must verify at the destination: a
// Sigstore bundle travels with its entry (it binds the entry and image
// digests, not the repository); a Notary target is bound to the source's
// GUN, so the entry is signed again for the destination's, with the same
// trust settings, after a preflight that fails before any write.
func runCopy(ctx context.Context, req Request, env Env, res *Result) (err error) {
	out := &CopyResult{Destination: req.Copy.Destination}
	res.Copy = out
	src, err := store.Open(ctx, req.Image, openOptions(req, env, store.Read)...)
	if err != nil {
		return err
	}
	defer func() { res.Warnings = append(res.Warnings, store.Messages(src.Warnings)...) }()
	dloc, err := store.ParseImage(req.Copy.Destination, req.Registry.PlainHTTP)
	if err != nil {
		return err
	}
	if dloc.IsLayout() && req.Trust.Backend == TrustNotary {
		return errdef.Usagef("destination: trust notary needs a registry image: an OCI layout (%s) has no repository name to sign for", dloc)
	}

	// The source first: nothing is created at the destination (a new
	// layout directory) before the source is known good.
	var srcTB trustBackend
	var srcRepo string
	if req.Trust.Backend != TrustNone {
		if srcRepo, err = repository(src, req.Trust.Backend); err != nil {
			return err
		}
		if srcTB, err = openTrust(req.Trust, env, src); err != nil {
			return err
		}
	}
	subject, err := src.Subject(ctx)
	if err != nil {
		return err
	}
	res.Subject = subject.Digest.String()
	var entries []store.Entry
	if srcTB != nil {
		entries, _, err = verified(ctx, srcTB, src, srcRepo, "", res)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		res.Verified = true
	} else if entries, err = src.List(ctx); err != nil {
		return err
	}
	entries = selectEntries(entries, req.Copy)
	if len(req.Copy.Keys) > 0 && len(entries) == 0 {
		return errdef.NotFoundf("no version of key %s on %s%s", strings.Join(req.Copy.Keys, ", "), res.Subject, signedHint(srcTB != nil))
	}

	if dloc.IsLayout() {
		if err := store.CreateLayout(dloc.Layout); err != nil {
			return err
		}
	}
	dreq := req
	dreq.Registry = req.Copy.Registry
	dst, err := store.Open(ctx, req.Copy.Destination, openOptions(dreq, env, store.Write)...)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	defer func() { res.Warnings = append(res.Warnings, store.Messages(dst.Warnings)...) }()
	var dstTB trustBackend
	var dstRepo string
	if req.Trust.Backend != TrustNone {
		if dstRepo, err = repository(dst, req.Trust.Backend); err != nil {
			return fmt.Errorf("destination: %w", err)
		}
		if dstTB, err = openTrust(req.Trust, env, dst); err != nil {
			return err
		}
	}

	resign := req.Trust.Backend == TrustNotary
	if resign {
		// Everything signing at the destination needs, checked before the
		// first write: root pinned, key at hand, role allowed.
		seen := map[string]bool{}
		for _, e := range entries {
			if seen[e.Key] {
				continue
			}
			seen[e.Key] = true
			if err := preflight(ctx, dstTB, dstRepo, res.Subject, e.Key); err != nil {
				return fmt.Errorf("destination %s: %w", dstRepo, err)
			}
		}
	}

	cr, err := dst.Copy(ctx, src, entries, !req.Copy.MetadataOnly)
	out.ImageCopied, out.Copied, out.Skipped, out.Signatures = cr.ImageCopied, cr.Copied, cr.Skipped, cr.Signatures
	if err != nil {
		return err
	}
	res.Found = len(entries) > 0
	if dstTB == nil {
		return nil
	}
	return verifyCopies(ctx, dstTB, dst, dstRepo, entries, resign, res)
}

// verifyCopies checks that every copied entry verifies at the destination;
// with resign (Notary), the ones that do not are signed there first.
func verifyCopies(ctx context.Context, tb trustBackend, dst *store.Target, repo string, entries []store.Entry, resign bool, res *Result) error {
	check := func() (map[string]bool, error) {
		vs, _, err := verified(ctx, tb, dst, repo, "", res)
		if err != nil {
			return nil, fmt.Errorf("destination: %w", err)
		}
		ok := map[string]bool{}
		for _, v := range vs {
			ok[v.Digest] = true
		}
		return ok, nil
	}
	ok, err := check()
	if err != nil {
		return err
	}
	if resign {
		for _, e := range entries {
			if ok[e.Digest] {
				continue
			}
			if _, err := sign(ctx, tb, repo, res.Subject, e); err != nil {
				return fmt.Errorf("destination %s: %w", repo, err)
			}
			res.Copy.Signed++
		}
		if res.Copy.Signed > 0 {
			if ok, err = check(); err != nil {
				return err
			}
		}
	}
	for _, e := range entries {
		if !ok[e.Digest] {
			return fmt.Errorf("entry %s of %s was copied but does not verify at the destination", e.Digest, e.Key)
		}
	}
	return nil
}

// selectEntries keeps the entries of the asked keys (all when none), and
// with Latest only the newest version of each; entries are newest first and
// stay so.
func selectEntries(entries []store.Entry, o CopyOptions) []store.Entry {
	seen := map[string]bool{}
	var out []store.Entry
	for _, e := range entries {
		if len(o.Keys) > 0 && !slices.Contains(o.Keys, e.Key) {
			continue
		}
		if o.Latest && seen[e.Key] {
			continue
		}
		seen[e.Key] = true
		out = append(out, e)
	}
	return out
}

// forgetBindings are the trust bindings of removed entries.
func forgetBindings(repo, subject string, es []store.Entry) []trust.Binding {
	bs := make([]trust.Binding, 0, len(es))
	for _, e := range es {
		bs = append(bs, trust.Binding{Repository: repo, Subject: subject, Key: e.Key, Entry: e.Digest, Size: e.ManifestSize})
	}
	return bs
}
