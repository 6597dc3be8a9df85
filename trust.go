package main

import (
	"context"
	"io"

	"github.com/sirupsen/logrus"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
	"github.com/manifesto-dev/manifesto/trust/notary"
)

// trustOpener wires the trust backends into steps (which knows only the
// steps.TrustBackend interface). getenv supplies the Notary passphrases.
func trustOpener(getenv func(string) string) func(steps.TrustOptions, *store.Target) (steps.TrustBackend, error) {
	return func(o steps.TrustOptions, _ *store.Target) (steps.TrustBackend, error) {
		// The Notary client logs through the global logrus logger; its
		// warnings would interleave with our one-line errors, which say
		// what went wrong already.
		logrus.SetOutput(io.Discard)
		b, err := notary.New(notary.Options{
			Server:     o.Notary.Server,
			TrustDir:   o.Notary.TrustDir,
			Role:       o.Notary.Role,
			Key:        o.Notary.Key,
			RootKeyID:  o.Notary.RootKeyID,
			TOFU:       o.Notary.TOFU,
			Passphrase: notary.EnvPassphrase(getenv),
		})
		if err != nil {
			return nil, err
		}
		return notaryBackend{b}, nil
	}
}

// notaryBackend adds the steps' Forget to trust/notary.
type notaryBackend struct{ *notary.Backend }

func (n notaryBackend) Forget(ctx context.Context, repository string, bs []trust.Binding) error {
	return n.RemoveTargets(ctx, repository, bs)
}
