package sigstoretest

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/transparency-dev/merkle/rfc6962"

	// Register the entry kinds this log accepts.
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
)

// rekorTreeID is the tree ID in entry UUIDs; it matches the one in the
// checkpoints ca.VirtualSigstore signs ("rekor.localhost - 123").
const rekorTreeID = 123

// acceptedKinds are the entry kinds sigstore-go's Rekor v1 client submits.
var acceptedKinds = map[string]bool{"hashedrekord": true, "dsse": true}

// handleCreateEntry serves POST /api/v1/log/entries as Rekor v1 does: it
// validates the proposed entry (including its signature), canonicalizes
// it, and answers 201 with the log entry keyed by its UUID, which the ETag
// and Location headers repeat. An entry already in the log is answered 409
// with its Location.
func (s *Server) handleCreateEntry(w http.ResponseWriter, r *http.Request) {
	pe, err := models.UnmarshalProposedEntry(http.MaxBytesReader(w, r.Body, 8<<20), runtime.JSONConsumer())
	if err != nil {
		writeError(w, http.StatusBadRequest, "decoding proposed entry: %v", err)
		return
	}
	if !acceptedKinds[pe.Kind()] {
		writeError(w, http.StatusBadRequest, "entry kind %q is not supported by sigstoretest (hashedrekord, dsse)", pe.Kind())
		return
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid entry: %v", err)
		return
	}
	body, err := types.CanonicalizeEntry(r.Context(), entry)
	if err != nil {
		writeError(w, http.StatusBadRequest, "canonicalizing entry: %v", err)
		return
	}

	leafHash := rfc6962.DefaultHasher.HashLeaf(body)
	uuid := fmt.Sprintf("%016x%x", rekorTreeID, leafHash)
	location := rekorEntriesPath + "/" + uuid

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[uuid]; ok {
		w.Header().Set("Location", location)
		writeError(w, http.StatusConflict, "an equivalent entry already exists in the transparency log with UUID %s", uuid)
		return
	}
	anon, err := s.logEntry(body)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "logging entry: %v", err)
		return
	}
	s.entries[uuid] = anon
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", location)
	writeJSON(w, http.StatusCreated, models.LogEntry{uuid: anon})
}

// logEntry makes the log entry for a canonicalized body: integrated now,
// with an inclusion proof and a signed entry timestamp from the virtual
// log. The entry's log index is the proof's, so that the SET (which signs
// the entry's index) and the proof agree.
func (s *Server) logEntry(body []byte) (models.LogEntryAnon, error) {
	proof, err := s.rekor.GetInclusionProof(body)
	if err != nil {
		return models.LogEntryAnon{}, fmt.Errorf("inclusion proof: %w", err)
	}
	logIndex := *proof.LogIndex
	integratedTime := time.Now().Unix()
	encoded := base64.StdEncoding.EncodeToString(body)
	set, err := s.rekor.RekorSignPayload(tlog.RekorPayload{
		Body:           encoded,
		IntegratedTime: integratedTime,
		LogIndex:       logIndex,
		LogID:          s.rekorLogID,
	})
	if err != nil {
		return models.LogEntryAnon{}, fmt.Errorf("signed entry timestamp: %w", err)
	}
	logID := s.rekorLogID
	return models.LogEntryAnon{
		Body:           encoded,
		IntegratedTime: &integratedTime,
		LogID:          &logID,
		LogIndex:       &logIndex,
		Verification: &models.LogEntryAnonVerification{
			InclusionProof:       proof,
			SignedEntryTimestamp: strfmt.Base64(set),
		},
	}, nil
}

// handleGetEntry serves GET /api/v1/log/entries/{uuid}, which sigstore-go
// uses to fetch an entry after a 409. It accepts the UUID with or without
// the tree ID prefix.
func (s *Server) handleGetEntry(w http.ResponseWriter, r *http.Request) {
	uuid := r.PathValue("uuid")
	if len(uuid) == 64 {
		uuid = fmt.Sprintf("%016x", rekorTreeID) + uuid
	}
	if _, err := hex.DecodeString(uuid); err != nil || len(uuid) != 80 {
		writeError(w, http.StatusBadRequest, "invalid entry UUID %q", r.PathValue("uuid"))
		return
	}
	s.mu.Lock()
	anon, ok := s.entries[uuid]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "no entry with UUID %s", uuid)
		return
	}
	writeJSON(w, http.StatusOK, models.LogEntry{uuid: anon})
}
