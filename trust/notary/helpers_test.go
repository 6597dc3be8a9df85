package notary

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/sirupsen/logrus"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/manifesto-dev/manifesto/internal/testbin"
	"github.com/manifesto-dev/manifesto/trust"
)

type (
	targetWithRole   = client.TargetWithRole
	jsonRaw          = canonicaljson.RawMessage
	clientRepository = client.Repository
)

// testPass is the passphrase of every key the tests create.
const testPass = "correct horse battery staple"

// testGUN is the repository the tests sign into.
const testGUN = "127.0.0.1:5000/team/app"

func TestMain(m *testing.M) {
	// The Notary client logs warnings through the global logrus logger.
	logrus.SetOutput(io.Discard)
	os.Exit(m.Run())
}

func constPass(string) (string, error) { return testPass, nil }

// backend returns a Backend on ts with trust dir dir and option edits.
func backend(t *testing.T, url, dir string, edit ...func(*Options)) *Backend {
	t.Helper()
	o := Options{Server: url, TrustDir: dir, Passphrase: constPass}
	for _, e := range edit {
		e(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return b
}

func pin(id string) func(*Options) { return func(o *Options) { o.RootKeyID = id } }

func tofu(o *Options) { o.TOFU = true }

func role(r string) func(*Options) { return func(o *Options) { o.Role = r } }

// initRepo creates the test GUN's trust data on the server at url with a
// new admin trust dir, and returns that dir and the root key ID.
func initRepo(t *testing.T, url string) (adminDir, rootID string) {
	t.Helper()
	adminDir = t.TempDir()
	id, created, err := backend(t, url, adminDir).Init(context.Background(), testGUN)
	if err != nil || !created {
		t.Fatalf("Init: %q %v %v", id, created, err)
	}
	return adminDir, id
}

// newRepo starts an in-process server holding the test GUN's trust data
// (initRepo).
func newRepo(t *testing.T) (ts *testServer, adminDir, rootID string) {
	t.Helper()
	ts = newServer(t)
	adminDir, rootID = initRepo(t, ts.URL)
	return ts, adminDir, rootID
}

// addDelegation creates role with a new key in its own trust dir (what CI
// holds) using the targets key in adminDir, as `notary delegation add`
// would; it returns CI's trust dir and the delegation key's ID.
func addDelegation(t *testing.T, url, adminDir string, roleName string, paths ...string) (ciDir, keyID string) {
	t.Helper()
	ciDir = t.TempDir()
	ks, err := trustmanager.NewKeyFileStore(ciDir, passphrase.ConstantRetriever(testPass))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoservice.NewCryptoService(ks).Create(data.RoleName(roleName), "", data.ECDSAKey)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := client.NewFileCachedRepository(adminDir, data.GUN(testGUN), url, http.DefaultTransport,
		passphrase.ConstantRetriever(testPass), trustpinning.TrustPinConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		paths = []string{""}
	}
	if err := repo.AddDelegation(data.RoleName(roleName), []data.PublicKey{pub}, paths); err != nil {
		t.Fatal(err)
	}
	if err := repo.Publish(); err != nil {
		t.Fatalf("publish delegation: %v", err)
	}
	return ciDir, pub.ID()
}

// targetsKeyID returns the ID of the targets key in an admin trust dir.
func targetsKeyID(t *testing.T, adminDir, rootID string) string {
	t.Helper()
	for _, e := range mustList(t, adminDir) {
		if id := strings.TrimSuffix(e.Name(), ".key"); id != rootID {
			return id
		}
	}
	t.Fatal("no targets key")
	return ""
}

// keyPEM returns the encrypted PEM of key id in dir (what `notary key
// export` writes).
func keyPEM(t *testing.T, dir, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "private", id+".key"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("key %s is not encrypted:\n%s", id, b)
	}
	return string(b)
}

// digest returns a sha256 digest of s.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func randomDigest(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return digest(string(b))
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

func binding(subject, key, entry string, created time.Time) trust.Binding {
	return trust.Binding{
		Repository: testGUN,
		Subject:    subject,
		Key:        key,
		Entry:      entry,
		Size:       int64(len(entry)) + 100,
		MediaType:  "application/json",
		Created:    created,
	}
}

func mustSign(t *testing.T, b *Backend, bd trust.Binding) trust.Signed {
	t.Helper()
	s, err := b.Sign(context.Background(), bd)
	if err != nil {
		t.Fatalf("Sign(%s %s %s): %v", bd.Subject, bd.Key, bd.Entry, err)
	}
	return s
}

func mustVerify(t *testing.T, b *Backend, subject, key string) []trust.Verified {
	t.Helper()
	v, err := b.Verify(context.Background(), trust.Query{Repository: testGUN, Subject: subject, Key: key})
	if err != nil {
		t.Fatalf("Verify(%s %s): %v", subject, key, err)
	}
	return v
}

// verifyErr runs Verify and fails unless it errs with a message containing
// every one of want.
func verifyErr(t *testing.T, b *Backend, subject, key string, want ...string) error {
	t.Helper()
	v, err := b.Verify(context.Background(), trust.Query{Repository: testGUN, Subject: subject, Key: key})
	if err == nil {
		t.Fatalf("Verify succeeded with %+v, want an error", v)
	}
	if v != nil {
		t.Errorf("Verify returned entries %+v along with error %v", v, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	t.Logf("Verify failed as it must: %v", err)
	return err
}

// closedURL is an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	port, err := testbin.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// mustList returns the private keys in trust dir dir (none when it has no
// private/ directory).
func mustList(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	e, err := os.ReadDir(filepath.Join(dir, "private"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return e
}

// envMap is an environment for EnvPassphrase.
type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }

// equalVerified compares verified entries field by field (times by instant).
func equalVerified(a, b []trust.Verified) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Digest != b[i].Digest || a[i].Size != b[i].Size ||
			!a[i].Created.Equal(b[i].Created) || a[i].Signer != b[i].Signer {
			return false
		}
	}
	return true
}
