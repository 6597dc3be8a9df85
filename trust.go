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

// trustOpener wires the trust backends into steps (which knows only the
// steps.TrustBackend interface). getenv supplies the Notary passphrases,
// cosign's COSIGN_PASSWORD and SIGSTORE_ID_TOKEN, and the GitHub Actions
// OIDC variables.
func trustOpener(getenv func(string) string) func(steps.TrustOptions, *store.Target) (steps.TrustBackend, error) {
	return func(o steps.TrustOptions, t *store.Target) (steps.TrustBackend, error) {
		switch o.Backend {
		case steps.TrustNotary:
			return openNotary(o, getenv)
		case steps.TrustSigstore:
			return openSigstore(o.Sigstore, t, getenv)
		}
		return nil, fmt.Errorf("trust backend %q is not available in this build", o.Backend)
	}
}

func openNotary(o steps.TrustOptions, getenv func(string) string) (steps.TrustBackend, error) {
	// The Notary client logs through the global logrus logger; its
	// warnings would interleave with our one-line errors, which say what
	// went wrong already.
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

// notaryBackend adds the steps' Forget to trust/notary.
type notaryBackend struct{ *notary.Backend }

func (n notaryBackend) Forget(ctx context.Context, repository string, bs []trust.Binding) error {
	return n.RemoveTargets(ctx, repository, bs)
}

// openSigstore builds the Sigstore backend on the image's store target (nil
// for trust init, which the backend refuses).
func openSigstore(o steps.SigstoreOptions, t *store.Target, getenv func(string) string) (steps.TrustBackend, error) {
	opts := sigstore.Options{
		Key:                       o.Key,
		Password:                  getenv("COSIGN_PASSWORD"),
		FulcioURL:                 o.FulcioURL,
		RekorURL:                  o.RekorURL,
		SigningConfig:             []byte(o.SigningConfig),
		IDToken:                   sigstore.EnvIDToken(getenv),
		PublicKey:                 o.PublicKey,
		CertificateIdentity:       o.CertificateIdentity,
		CertificateIdentityRegexp: o.CertificateIdentityRegexp,
		CertificateOIDCIssuer:     o.CertificateOIDCIssuer,
		TrustedRoot:               []byte(o.TrustedRoot),
	}
	if t != nil {
		opts.Registry = t
	}
	return sigstore.New(opts)
}
