// Package sigstoretest runs an offline Sigstore deployment for tests: a
// Fulcio CA, a Rekor v1 log and an RFC 3161 timestamp authority on one
// loopback HTTP server, with a trusted root that verifies what they issue.
//
// The server speaks the subset of each service's API that sigstore-go's
// signing clients use:
//
//   - Fulcio: POST /api/v2/signingCert (sign.NewFulcio with FulcioURL)
//   - Rekor v1: POST /api/v1/log/entries and GET /api/v1/log/entries/{uuid}
//     (sign.NewRekor with RekorURL), for hashedrekord and dsse entries
//   - TSA: POST /api/v1/timestamp (sign.NewTimestampAuthority with TSAURL)
//
// Identity tokens come from [Server.GitHubToken], [Server.EmailToken] or
// [Server.Token]. The fake Fulcio does not check token signatures, but it
// does check the claims (aud, exp, identity) and the proof of possession
// the way the real Fulcio does, so a test can exercise the rejection paths.
//
// Everything is generated afresh by [Start] and lives in memory. The
// certificates are short-lived, as in a real deployment: Fulcio leaf
// certificates are valid for ten minutes from issue, and the timestamp
// authority's signing certificate (made by sigstore-go's
// ca.GenerateTSALeafCert) expires about nine minutes after Start, after
// which the TSA answers 503. Tests should start a Server each.
//
// The Rekor side is backed by sigstore-go's ca.VirtualSigstore, whose
// inclusion proofs always describe a tree holding just the one entry, so
// every entry this log returns has log index 0 (entries are told apart by
// their UUID). Its checkpoints are signed for the origin "rekor.localhost",
// which is also the log's base URL in TrustedRoot.
package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// Claim values the fake services use.
const (
	// GitHubIssuer is the OIDC issuer of GitHub Actions tokens, which
	// [Server.GitHubToken] puts in iss.
	GitHubIssuer = "https://token.actions.githubusercontent.com"
	// Audience is the aud claim Fulcio requires.
	Audience = "sigstore"
)

// API paths served; FulcioURL and RekorURL are base URLs to which the
// sigstore-go clients append the first two themselves.
const (
	fulcioSigningCertPath = "/api/v2/signingCert"
	rekorEntriesPath      = "/api/v1/log/entries"
	tsaPath               = "/api/v1/timestamp"
)

// trustValidity is how far either side of Start the trusted root says the
// CA, log and TSA keys are valid.
const trustValidity = time.Hour

// Server is a running fake Sigstore deployment. Its exported fields are set
// by [Start] and must not be changed.
type Server struct {
	URL       string // base URL of the httptest server
	FulcioURL string // base URL to give sigstore-go's sign.FulcioOptions.BaseURL
	RekorURL  string // base URL for sign.RekorOptions.BaseURL (Rekor v1 API)
	TSAURL    string // full URL for sign.TimestampAuthorityOptions.URL
	// TrustedRoot is the trusted root (Sigstore trusted_root.json format, as
	// root.TrustedRoot.MarshalJSON writes) holding this server's Fulcio CA,
	// Rekor log key and TSA chain.
	TrustedRoot []byte
	// SigningConfig is a signing config (Sigstore signing_config.json, media
	// type v0.2, as root.SigningConfig.MarshalJSON writes) naming this
	// server's Fulcio, Rekor and TSA URLs, for code that discovers services
	// the way sigstore-go's root.SelectService expects.
	SigningConfig []byte

	// Fulcio: the CA's root and the intermediate that issues leaves.
	fulcioRoot         *x509.Certificate
	fulcioIntermediate *x509.Certificate
	fulcioKey          *ecdsa.PrivateKey

	// TSA: leaf, intermediate and root, and the leaf's key.
	tsaLeaf, tsaIntermediate, tsaRoot *x509.Certificate
	tsaKey                            *ecdsa.PrivateKey

	// Rekor: the virtual log that signs SETs and checkpoints.
	rekor      *ca.VirtualSigstore
	rekorLogs  map[string]*root.TransparencyLog
	rekorLogID string // hex SHA-256 of the log's public key

	// tokenKey signs the tokens Token makes (nobody checks it).
	tokenKey *ecdsa.PrivateKey

	mu                    sync.Mutex
	entries               map[string]models.LogEntryAnon // by Rekor entry UUID
	nFulcio, nRekor, nTSA int
}

// Start starts the server; t.Cleanup closes it.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := newServer()
	if err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)

	s.URL = srv.URL
	s.FulcioURL = srv.URL
	s.RekorURL = srv.URL // the Rekor client adds /api/v1 to a URL without a path
	s.TSAURL = srv.URL + tsaPath
	if s.TrustedRoot, err = s.trustedRoot(); err != nil {
		t.Fatalf("sigstoretest: trusted root: %v", err)
	}
	if s.SigningConfig, err = s.signingConfig(); err != nil {
		t.Fatalf("sigstoretest: signing config: %v", err)
	}
	return s
}

// newServer generates the keys and certificates of a deployment.
func newServer() (*Server, error) {
	s := &Server{entries: make(map[string]models.LogEntryAnon)}
	var err error

	// Fulcio: root → intermediate (code signing) → leaves issued per request.
	var fulcioRootKey *ecdsa.PrivateKey
	if s.fulcioRoot, fulcioRootKey, err = ca.GenerateRootCa(); err != nil {
		return nil, fmt.Errorf("fulcio root: %w", err)
	}
	if s.fulcioIntermediate, s.fulcioKey, err = ca.GenerateFulcioIntermediate(s.fulcioRoot, fulcioRootKey); err != nil {
		return nil, fmt.Errorf("fulcio intermediate: %w", err)
	}

	// TSA: its own root → intermediate (time stamping) → leaf.
	tsaRootCert, tsaRootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, fmt.Errorf("tsa root: %w", err)
	}
	tsaIntermediate, tsaIntermediateKey, err := ca.GenerateTSAIntermediate(tsaRootCert, tsaRootKey)
	if err != nil {
		return nil, fmt.Errorf("tsa intermediate: %w", err)
	}
	if s.tsaKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	// GenerateTSALeafCert makes a certificate valid for ten minutes from
	// the time given; start it a minute back to allow for clock rounding.
	tsaLeaf, err := ca.GenerateTSALeafCert(time.Now().Add(-time.Minute), s.tsaKey, tsaIntermediate, tsaIntermediateKey)
	if err != nil {
		return nil, fmt.Errorf("tsa leaf: %w", err)
	}
	s.tsaLeaf, s.tsaIntermediate, s.tsaRoot = tsaLeaf, tsaIntermediate, tsaRootCert

	// Rekor: only the log key of the virtual deployment is used.
	if s.rekor, err = ca.NewVirtualSigstore(); err != nil {
		return nil, fmt.Errorf("rekor: %w", err)
	}
	if s.rekorLogID, err = s.rekor.RekorLogID(); err != nil {
		return nil, fmt.Errorf("rekor log id: %w", err)
	}
	// RekorLogs sets TransparencyLog.ID to the hex log ID's characters, not
	// the raw key ID the trusted root format wants: written out as is, the
	// log would be filed under hex(hex(id)) when the root is read back, and
	// no entry would find its key. Store the raw 32 bytes instead.
	s.rekorLogs = s.rekor.RekorLogs()
	for id, log := range s.rekorLogs {
		if log.ID, err = hex.DecodeString(id); err != nil {
			return nil, fmt.Errorf("rekor log id %q: %w", id, err)
		}
	}
	if _, ok := s.rekorLogs[s.rekorLogID]; !ok {
		return nil, fmt.Errorf("rekor log %s missing from RekorLogs", s.rekorLogID)
	}

	if s.tokenKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	return s, nil
}

// trustedRoot builds and serializes the trusted root, and checks that
// sigstore-go reads it back.
func (s *Server) trustedRoot() ([]byte, error) {
	now := time.Now()
	fulcio := &root.FulcioCertificateAuthority{
		Root:                s.fulcioRoot,
		Intermediates:       []*x509.Certificate{s.fulcioIntermediate},
		ValidityPeriodStart: now.Add(-trustValidity),
		ValidityPeriodEnd:   now.Add(trustValidity),
		URI:                 s.FulcioURL,
	}
	tsa := &root.SigstoreTimestampingAuthority{
		Root:                s.tsaRoot,
		Intermediates:       []*x509.Certificate{s.tsaIntermediate},
		Leaf:                s.tsaLeaf,
		ValidityPeriodStart: now.Add(-trustValidity),
		ValidityPeriodEnd:   now.Add(trustValidity),
		URI:                 s.TSAURL,
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{fulcio},
		nil, // no CT logs: the fake Fulcio issues no SCTs
		[]root.TimestampingAuthority{tsa},
		s.rekorLogs)
	if err != nil {
		return nil, err
	}
	data, err := tr.MarshalJSON()
	if err != nil {
		return nil, err
	}
	back, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("reading back: %w", err)
	}
	if _, ok := back.RekorLogs()[s.rekorLogID]; !ok {
		return nil, fmt.Errorf("reading back: rekor log %s missing", s.rekorLogID)
	}
	return data, nil
}

// signingConfig serializes a signing config naming this server's services.
func (s *Server) signingConfig() ([]byte, error) {
	service := func(url string) []root.Service {
		return []root.Service{{
			URL:                 url,
			MajorAPIVersion:     1,
			ValidityPeriodStart: time.Now().Add(-trustValidity),
			Operator:            "sigstoretest",
		}}
	}
	anyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		service(s.FulcioURL), nil, service(s.RekorURL), anyOne, service(s.TSAURL), anyOne)
	if err != nil {
		return nil, err
	}
	return sc.MarshalJSON()
}

// handler routes requests to the three services, counting them.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+fulcioSigningCertPath, s.handleSigningCert)
	mux.HandleFunc("POST "+rekorEntriesPath, s.handleCreateEntry)
	mux.HandleFunc("GET "+rekorEntriesPath+"/{uuid}", s.handleGetEntry)
	mux.HandleFunc("POST "+tsaPath, s.handleTimestamp)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/api/v2/"):
			s.nFulcio++
		case strings.HasPrefix(p, "/api/v1/log"):
			s.nRekor++
		case p == tsaPath || strings.HasPrefix(p, tsaPath+"/"):
			s.nTSA++
		}
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

// Requests reports how many requests each service served (for tests that
// check e.g. that key-based signing contacts nothing). Rejected requests
// count too.
func (s *Server) Requests() (fulcio, rekor, tsa int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nFulcio, s.nRekor, s.nTSA
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes an error response shaped like those of Fulcio and
// Rekor: {"code": status, "message": "..."}.
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]any{"code": status, "message": fmt.Sprintf(format, args...)})
}
