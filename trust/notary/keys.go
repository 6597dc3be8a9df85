package notary

import (
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// keyring is the private keys of one operation: TrustDir's key files (the
// notary CLI's private/ directory) and, when given, the imported
// Options.Key. It remembers why a passphrase could not be had, because the
// Notary key store reduces every failure to "password invalid".
type keyring struct {
	cs *cryptoservice.CryptoService

	mu      sync.Mutex
	passErr map[string]error // role → why its passphrase failed
}

func (b *Backend) keyring() (*keyring, error) {
	kr := &keyring{passErr: map[string]error{}}
	files, err := trustmanager.NewKeyFileStore(b.trustDir, kr.retriever(b.pass))
	if err != nil {
		return nil, fmt.Errorf("notary: key store in %s: %w", b.trustDir, err)
	}
	stores := []trustmanager.KeyStore{files}
	if b.imported != nil {
		stores = append(stores, &importedKey{key: b.imported, role: b.role})
	}
	kr.cs = cryptoservice.NewCryptoService(stores...)
	return kr, nil
}

// retriever adapts Options.Passphrase to Notary's PassRetriever: one
// attempt per key (a wrong passphrase does not get better by asking again).
func (kr *keyring) retriever(pass func(string) (string, error)) notary.PassRetriever {
	return func(keyName, alias string, createNew bool, attempts int) (string, bool, error) {
		fail := func(err error) (string, bool, error) {
			kr.mu.Lock()
			kr.passErr[alias] = err
			kr.mu.Unlock()
			return "", true, err
		}
		if attempts > 0 {
			return fail(fmt.Errorf("wrong passphrase for the %s key %s (from %s)", alias, shortID(keyName), PassphraseEnv(alias)))
		}
		if pass == nil {
			return fail(errdef.Usagef("no passphrase source for the %s key (%s)", alias, PassphraseEnv(alias)))
		}
		p, err := pass(alias)
		if err != nil {
			return fail(err)
		}
		if p == "" {
			return fail(errdef.Usagef("empty passphrase for the %s key (%s)", alias, PassphraseEnv(alias)))
		}
		return p, false, nil
	}
}

// explain replaces the Notary key store's generic passphrase errors with
// the reason recorded by the retriever.
func (kr *keyring) explain(err error) error {
	if err == nil {
		return nil
	}
	var inv trustmanager.ErrPasswordInvalid
	var exceeded trustmanager.ErrAttemptsExceeded
	if !errors.As(err, &inv) && !errors.As(err, &exceeded) {
		return err
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	var reasons []error
	for _, e := range kr.passErr {
		reasons = append(reasons, e)
	}
	if len(reasons) == 0 {
		return err
	}
	joined := errors.Join(reasons...)
	for _, r := range reasons {
		if errors.Is(r, errdef.ErrUsage) {
			return errdef.WithClass(joined, errdef.ErrUsage)
		}
	}
	return joined
}

// privateKey returns the private key for one of the role's key IDs (the
// canonical IDs), trying each.
func (kr *keyring) privateKey(ids []string) (data.PrivateKey, error) {
	var firstErr error
	for _, id := range ids {
		k, _, err := kr.cs.GetPrivateKey(id)
		if err == nil {
			return k, nil
		}
		var nf trustmanager.ErrKeyNotFound
		if errors.As(err, &nf) {
			continue
		}
		if firstErr == nil {
			firstErr = kr.explain(err)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, trustmanager.ErrKeyNotFound{KeyID: strings.Join(ids, ", ")}
}

// decryptKey decrypts Options.Key with the passphrase of b.role.
func (b *Backend) decryptKey(pemBytes []byte) (data.PrivateKey, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, errdef.Usagef("notary: notary_key is not a PEM private key")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errdef.Usagef("notary: notary_key holds more than one PEM block; give exactly the %s key", b.role)
	}
	if r := block.Headers["role"]; r == data.CanonicalRootRole.String() || r == data.CanonicalSnapshotRole.String() || r == data.CanonicalTimestampRole.String() {
		return nil, errdef.Usagef("notary: notary_key is a %s key; give the %s key (never hand a root key to CI)", r, b.role)
	}
	one := pem.EncodeToMemory(block)
	if k, err := utils.ParsePEMPrivateKey(one, ""); err == nil {
		return k, nil // not encrypted
	}
	env := PassphraseEnv(b.role.String())
	if b.pass == nil {
		return nil, errdef.Usagef("notary: notary_key is encrypted and no passphrase source is configured (%s)", env)
	}
	p, err := b.pass(b.role.String())
	if err != nil {
		return nil, fmt.Errorf("notary: notary_key: %w", err)
	}
	k, err := utils.ParsePEMPrivateKey(one, p)
	if err != nil {
		return nil, errdef.Usagef("notary: cannot decrypt notary_key (PEM %q) with the passphrase from %s: wrong passphrase, or not a Notary private key", block.Type, env)
	}
	return k, nil
}

// importedKey is a read-only key store (trustmanager.KeyStore) holding
// the decrypted Options.Key.
type importedKey struct {
	key  data.PrivateKey
	role data.RoleName
}

// AddKey refuses: the store is read-only.
func (s *importedKey) AddKey(trustmanager.KeyInfo, data.PrivateKey) error {
	return errors.New("notary: the imported key store is read-only")
}

// GetKey returns the imported key when keyID is its ID.
func (s *importedKey) GetKey(keyID string) (data.PrivateKey, data.RoleName, error) {
	if keyID == s.key.ID() {
		return s.key, s.role, nil
	}
	return nil, "", trustmanager.ErrKeyNotFound{KeyID: keyID}
}

// GetKeyInfo returns the imported key's role when keyID is its ID.
func (s *importedKey) GetKeyInfo(keyID string) (trustmanager.KeyInfo, error) {
	if keyID == s.key.ID() {
		return trustmanager.KeyInfo{Role: s.role}, nil
	}
	return trustmanager.KeyInfo{}, trustmanager.ErrKeyNotFound{KeyID: keyID}
}

// ListKeys lists the imported key.
func (s *importedKey) ListKeys() map[string]trustmanager.KeyInfo {
	return map[string]trustmanager.KeyInfo{s.key.ID(): {Role: s.role}}
}

// RemoveKey does nothing: the key lives only as long as the Backend.
func (s *importedKey) RemoveKey(string) error { return nil }

// Name names the store in the Notary client's messages.
func (s *importedKey) Name() string { return "notary_key (in memory)" }
