package pull

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
)

// MaxAhead is how far past this machine's clock a release's time may be.
// A release dated later is refused: the signer's clock or this one is
// wrong, or the release is hostile; remembered, its time would make every
// genuine release after it look older, and be refused, until then.
const MaxAhead = 24 * time.Hour

// releaseLimit bounds what is read of a release.json.
var releaseLimit = manifest.Limit{Bytes: format.MaxReleaseSize, What: "a " + format.ReleaseFile}

// A pull refuses to go back in time. Each release dates itself in
// release.json ([format.ReleaseFile]), which its SHA256SUMS lists, so the
// signature covers the date. The folder remembers the date of the release
// it holds (pull.json, written once the new mirror is in place), and a
// pull refuses, before it downloads anything else:
//
//   - a release older than the one held: a server (or anyone between it
//     and the reader) replaying an old signed release, to hide what was
//     published since, or to serve again the keyrings of a reader who was
//     removed;
//   - a release without release.json when the one held had one: an
//     undated release cannot be told from an old one;
//   - a release dated more than [MaxAhead] after this machine's clock.
//
// A release of the same time as the one held is accepted, whatever it
// lists: two builds in the same second, or a release signed again. A
// publisher gives each release a later time than the last (conclave build
// dates it now, or SOURCE_DATE_EPOCH).
//
// A site built before releases were dated has no release.json: its first
// pull, and later ones while it has none, go through.

// ReleaseError is the error of a pull refused for its release's time: the
// mirror and the readable copy are as they were.
type ReleaseError struct {
	// Got is the time of the release refused, zero if it has no
	// release.json; Held is the time of the release the folder holds,
	// zero if it holds none or an undated one.
	Got, Held time.Time
	// Ahead is set for a release dated more than MaxAhead after this
	// machine's clock.
	Ahead bool
	msg   string
}

func (e *ReleaseError) Error() string { return e.msg }

// stamp writes a release's time for messages.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkRelease reads the new release's release.json, which the mirror
// being assembled holds, checked against its digest, and refuses a release
// that would take the folder back in time. It sets the report's Release.
func (p *puller) checkRelease(listed bool) error {
	held := p.heldRelease()
	file := p.fetch.fileURL(format.ReleaseFile)
	if !listed {
		if held.IsZero() {
			return nil
		}
		return &ReleaseError{Held: held, msg: fmt.Sprintf("%s: the release lists no %s, so it is undated, but the release pulled into %s before is dated %s: refused (an undated release may be an old one, replayed to hide what was published since)",
			p.fetch.fileURL(manifest.Name), format.ReleaseFile, p.dir, stamp(held))}
	}
	data, _, err := manifest.ReadFile(p.fsys, nextPath+"/"+format.ReleaseFile, releaseLimit)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	r, err := format.ParseRelease(data)
	if err != nil {
		return fmt.Errorf("%s: %w: refused", file, err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	switch {
	case r.Time.After(now.Add(MaxAhead)):
		return &ReleaseError{Got: r.Time, Held: held, Ahead: true, msg: fmt.Sprintf("%s: the release is dated %s, more than %d hours after this machine's clock (%s): refused (either clock is wrong, the signer's or this one, or the release is hostile: remembered, its date would make every later release look older)",
			file, stamp(r.Time), int(MaxAhead.Hours()), stamp(now))}
	case r.Time.Before(held):
		return &ReleaseError{Got: r.Time, Held: held, msg: fmt.Sprintf("%s: the release is dated %s, older than the release of %s pulled into %s before: refused (a server replaying an old signed release would hide what was published since)",
			file, stamp(r.Time), stamp(held), p.dir)}
	}
	p.release = r.Time
	p.report.Release = r.Time
	return nil
}

// heldRelease is the time of the release the folder holds: the one
// pull.json remembers or, if later, the one the mirror's own release.json
// says (a pull stopped between putting its mirror in place and
// remembering, or pull.json written by a conclave that did not remember
// release times). Zero if neither says.
func (p *puller) heldRelease() time.Time {
	var held time.Time
	if p.state != nil {
		held = p.state.Release
	}
	if t, err := p.mirrorRelease(); err == nil && t.After(held) {
		held = t
	}
	return held
}

// errNoRelease is mirrorRelease's error for a mirror without release.json.
var errNoRelease = errors.New("no " + format.ReleaseFile)

// mirrorRelease reads the time of the mirror's release.json, if its
// manifest lists it and its bytes are those listed.
func (p *puller) mirrorRelease() (time.Time, error) {
	for _, e := range p.oldEntries {
		if e.Path != format.ReleaseFile {
			continue
		}
		data, _, err := manifest.ReadFile(p.fsys, MirrorDir+"/"+format.ReleaseFile, releaseLimit)
		if err != nil {
			return time.Time{}, err
		}
		if sha256.Sum256(data) != e.Sum {
			return time.Time{}, errors.New(manifest.ReasonChanged)
		}
		r, err := format.ParseRelease(data)
		return r.Time, err
	}
	return time.Time{}, errNoRelease
}
