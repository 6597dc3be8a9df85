package sigstore

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// verifyTlogEntry checks one Rekor v1 log entry of a keyless bundle
// against the trusted logs, the way sigstore-go's VerifyTlogEntry does for
// Rekor v1: the log is known, its signed entry timestamp (inclusion
// promise) verifies, its inclusion proof and signed checkpoint verify, and
// the logged entry is this bundle's signature (a "dsse" v0.0.1 entry with
// the same signature, certificate and payload hash). It returns the
// entry's integrated time when the promise vouches for it (zero time
// otherwise: a bare inclusion proof proves no time).
func verifyTlogEntry(e *protorekor.TransparencyLogEntry, p *parsedBundle, logs map[string]*root.TransparencyLog) (time.Time, error) {
	logKey := hex.EncodeToString(e.GetLogId().GetKeyId())
	log, ok := logs[logKey]
	if !ok {
		return time.Time{}, fmt.Errorf("entry of an untrusted log %s", logKey)
	}
	if e.GetLogIndex() < 0 || len(e.GetCanonicalizedBody()) == 0 {
		return time.Time{}, errors.New("malformed log entry")
	}
	if kv := e.GetKindVersion(); kv.GetKind() != "dsse" || kv.GetVersion() != "0.0.1" {
		return time.Time{}, fmt.Errorf("unsupported log entry kind %s/%s (want dsse/0.0.1)", kv.GetKind(), kv.GetVersion())
	}
	if err := checkDSSEBody(e.GetCanonicalizedBody(), p); err != nil {
		return time.Time{}, err
	}
	promise := len(e.GetInclusionPromise().GetSignedEntryTimestamp()) > 0
	if !promise && e.GetInclusionProof() == nil {
		return time.Time{}, errors.New("log entry without inclusion promise or proof")
	}
	if promise {
		if err := verifySET(e, log); err != nil {
			return time.Time{}, err
		}
	}
	if e.GetInclusionProof() != nil {
		if err := verifyInclusion(e, log); err != nil {
			return time.Time{}, err
		}
	}
	if !promise || e.GetIntegratedTime() == 0 {
		return time.Time{}, nil
	}
	return time.Unix(e.GetIntegratedTime(), 0), nil
}

// checkDSSEBody checks that a Rekor "dsse" v0.0.1 entry logs this bundle:
// the same single signature, verified by the bundle's certificate, over a
// payload with the same SHA-256.
func checkDSSEBody(body []byte, p *parsedBundle) error {
	var b struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			PayloadHash *struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"payloadHash"`
			Signatures []struct {
				Signature string `json:"signature"`
				Verifier  string `json:"verifier"`
			} `json:"signatures"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return fmt.Errorf("log entry body: %w", err)
	}
	if b.Kind != "dsse" || b.APIVersion != "0.0.1" {
		return fmt.Errorf("log entry body is %s/%s, not dsse/0.0.1", b.Kind, b.APIVersion)
	}
	ph := b.Spec.PayloadHash
	sum := sha256.Sum256(p.payload)
	if ph == nil || ph.Algorithm != "sha256" || ph.Value != hex.EncodeToString(sum[:]) {
		return errors.New("the log entry's payload hash does not match the envelope")
	}
	if len(b.Spec.Signatures) != 1 {
		return fmt.Errorf("the log entry has %d signatures, want 1", len(b.Spec.Signatures))
	}
	s := b.Spec.Signatures[0]
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || !bytes.Equal(sig, p.sig) {
		return errors.New("the log entry's signature does not match the envelope")
	}
	verifierPEM, err := base64.StdEncoding.DecodeString(s.Verifier)
	if err != nil {
		return errors.New("the log entry's verifier is not base64")
	}
	block, _ := pem.Decode(verifierPEM)
	if block == nil || p.leaf == nil || !bytes.Equal(block.Bytes, p.leaf.Raw) {
		return errors.New("the log entry's certificate does not match the bundle's")
	}
	return nil
}

// verifySET verifies the inclusion promise: the log's signature over the
// canonical JSON of body, integrated time, log ID and index.
func verifySET(e *protorekor.TransparencyLogEntry, log *root.TransparencyLog) error {
	t := time.Unix(e.GetIntegratedTime(), 0)
	if log.ValidityPeriodStart.IsZero() {
		return errors.New("the log's key has no validity start in the trusted root")
	}
	if t.Before(log.ValidityPeriodStart) || (!log.ValidityPeriodEnd.IsZero() && t.After(log.ValidityPeriodEnd)) {
		return errors.New("the log's key was not valid at the entry's integrated time")
	}
	payload, err := json.Marshal(struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	}{
		Body:           base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody()),
		IntegratedTime: e.GetIntegratedTime(),
		LogIndex:       e.GetLogIndex(),
		LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
	})
	if err != nil {
		return err
	}
	canonical, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return err
	}
	pub, ok := log.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("unsupported log key type %T", log.PublicKey)
	}
	sum := sha256.Sum256(canonical)
	if !ecdsa.VerifyASN1(pub, sum[:], e.GetInclusionPromise().GetSignedEntryTimestamp()) {
		return errors.New("the signed entry timestamp does not verify")
	}
	return nil
}

// verifyInclusion verifies the Merkle inclusion proof of the entry and the
// log's signature on the checkpoint that commits to the proof's root.
func verifyInclusion(e *protorekor.TransparencyLogEntry, log *root.TransparencyLog) error {
	ip := e.GetInclusionProof()
	if ip.GetLogIndex() < 0 || ip.GetTreeSize() <= 0 || ip.GetLogIndex() >= ip.GetTreeSize() {
		return errors.New("malformed inclusion proof")
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(e.GetCanonicalizedBody())
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(ip.GetLogIndex()), uint64(ip.GetTreeSize()), leaf, ip.GetHashes(), ip.GetRootHash()); err != nil {
		return fmt.Errorf("inclusion proof: %w", err)
	}
	hash, err := verifyCheckpoint(ip.GetCheckpoint().GetEnvelope(), log)
	if err != nil {
		return err
	}
	// The root hash commits to the tree; like Rekor's own client, the
	// checkpoint's size is not compared with the proof's.
	if !bytes.Equal(hash, ip.GetRootHash()) {
		return errors.New("the checkpoint does not commit to the inclusion proof's root")
	}
	return nil
}

// verifyCheckpoint verifies a signed note checkpoint ("origin\nsize\nbase64
// root hash\n[other lines]\n\n— name base64(key hash ‖ signature)\n") with
// the log's key, as Rekor v1 signs them, and returns its root hash.
func verifyCheckpoint(note string, log *root.TransparencyLog) ([]byte, error) {
	data := []byte(note)
	split := bytes.LastIndex(data, []byte("\n\n"))
	if split < 0 {
		return nil, errors.New("malformed checkpoint")
	}
	text, sigs := data[:split+1], data[split+2:]
	lines := strings.Split(string(text), "\n")
	if len(lines) < 4 || lines[0] == "" {
		return nil, errors.New("malformed checkpoint")
	}
	if _, err := strconv.ParseUint(lines[1], 10, 64); err != nil {
		return nil, errors.New("malformed checkpoint size")
	}
	hash, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		return nil, errors.New("malformed checkpoint root hash")
	}
	pub, ok := log.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("unsupported log key type %T", log.PublicKey)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	keySum := sha256.Sum256(der)
	keyHash := binary.BigEndian.Uint32(keySum[:4])
	digest := sha256.Sum256(text)
	sc := bufio.NewScanner(bytes.NewReader(sigs))
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(sc.Text(), "\u2014 "))
		if !strings.HasPrefix(sc.Text(), "\u2014 ") || len(fields) != 2 {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil || len(raw) < 5 || binary.BigEndian.Uint32(raw[:4]) != keyHash {
			continue
		}
		if ecdsa.VerifyASN1(pub, digest[:], raw[4:]) {
			return hash, nil
		}
	}
	return nil, errors.New("no signature of the log on the checkpoint verifies")
}
