package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sirupsen/logrus"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
	"github.com/manifesto-dev/manifesto/trust/notary"
	"github.com/manifesto-dev/manifesto/trust/sigstore"
)

// openTrust wires the trust backends into steps (which knows only the
// steps.TrustBackend interface). The options arrive complete from inputs,
// secrets included; t is the image's store target (nil for trust init).
func openTrust(o steps.TrustOptions, t *store.Target) (steps.TrustBackend, error) {
	switch o.Backend {
	case steps.TrustNotary:
		// The Notary client logs through the global logrus logger; its
		// warnings would interleave with our one-line errors, which say
		// what went wrong already.
		logrus.SetOutput(io.Discard)
		b, err := notary.New(o.Notary)
		if err != nil {
			return nil, err
		}
		return notaryBackend{b}, nil
	case steps.TrustSigstore:
		var reg sigstore.Registry
		if t != nil { // a nil *store.Target is not a nil Registry
			reg = t
		}
		b, err := sigstore.New(o.Sigstore, reg)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("trust backend %q is not available in this build", o.Backend)
}

// notaryBackend adds the steps' Forget to trust/notary.
type notaryBackend struct{ *notary.Backend }

func (n notaryBackend) Forget(ctx context.Context, repository string, bs []trust.Binding) error {
	return n.RemoveTargets(ctx, repository, bs)
}
