package sigstoretest

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// tsaPolicy is the TSA policy OID the Sigstore timestamp authority uses.
var tsaPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}

// handleTimestamp serves POST /api/v1/timestamp: an RFC 3161 time-stamp
// query in, a time-stamp reply signed by the TSA leaf out. The reply echoes
// the query's hash algorithm, message imprint and nonce, and carries the
// TSA chain (leaf, intermediate, root) if the query asks for certificates.
func (s *Server) handleTimestamp(w http.ResponseWriter, r *http.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/timestamp-query" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/timestamp-query, not %q", r.Header.Get("Content-Type"))
		return
	}
	query, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading query: %v", err)
		return
	}
	req, err := timestamp.ParseRequest(query)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parsing time-stamp query: %v", err)
		return
	}
	switch req.HashAlgorithm {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		writeError(w, http.StatusBadRequest, "unsupported hash algorithm %v", req.HashAlgorithm)
		return
	}
	if len(req.HashedMessage) != req.HashAlgorithm.Size() {
		writeError(w, http.StatusBadRequest, "message imprint is %d bytes, want %d for %v", len(req.HashedMessage), req.HashAlgorithm.Size(), req.HashAlgorithm)
		return
	}
	if req.TSAPolicyOID != nil && !req.TSAPolicyOID.Equal(tsaPolicy) {
		writeError(w, http.StatusBadRequest, "unsupported TSA policy %v (only %v)", req.TSAPolicyOID, tsaPolicy)
		return
	}
	now := time.Now()
	if now.After(s.tsaLeaf.NotAfter) {
		writeError(w, http.StatusServiceUnavailable, "TSA certificate expired at %s; a sigstoretest server issues timestamps for about nine minutes after Start", s.tsaLeaf.NotAfter.UTC().Format(time.RFC3339))
		return
	}

	ts := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              now,
		Nonce:             req.Nonce,
		Policy:            tsaPolicy,
		AddTSACertificate: req.Certificates,
		ExtraExtensions:   req.Extensions,
	}
	if req.Certificates {
		ts.Certificates = []*x509.Certificate{s.tsaIntermediate, s.tsaRoot}
	}
	reply, err := ts.CreateResponseWithOpts(s.tsaLeaf, s.tsaKey, crypto.SHA256)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "creating time-stamp reply: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(reply)
}
