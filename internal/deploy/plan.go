package deploy

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
)

// Plan is what a deploy uploads and deletes.
type Plan struct {
	// Uploads are the files to upload, in the order they are uploaded
	// (see [Upload.Step]); SHA256SUMS and its bundle are not among them.
	Uploads []Upload
	// Manifest and Bundle are set when SHA256SUMS and its bundle are
	// uploaded, after the files: when the bucket holds other bytes.
	Manifest, Bundle bool
	// Deletes are the keys of the stale objects, deleted last: objects
	// the site does not list, and the bundle the bucket holds when the
	// site deployed is unsigned (deleted before SHA256SUMS is uploaded).
	Deletes []string
	// Bytes is what the uploads send, SHA256SUMS and its bundle included.
	Bytes int64
	// Unchanged counts the files the bucket holds already: its
	// SHA256SUMS lists them with their digest, and it holds an object of
	// their size at their path.
	Unchanged int
	// Resumed counts the files the bucket holds already although its
	// SHA256SUMS does not say so: their object carries their digest in
	// its metadata, as uploaded by a deploy that did not finish.
	Resumed int
	// Previous says what the bucket's SHA256SUMS was: PreviousNone,
	// PreviousRead, or why it could not be read (then every file is
	// compared with the bucket by its metadata only).
	Previous string
}

// What [Plan.Previous] says when there was no problem.
const (
	PreviousNone = "none"
	PreviousRead = "read"
)

// Objects is how many objects the plan uploads, SHA256SUMS and its
// bundle included.
func (p *Plan) Objects() int {
	n := len(p.Uploads)
	if p.Manifest {
		n++
	}
	if p.Bundle {
		n++
	}
	return n
}

// Upload is a file the plan uploads.
type Upload struct {
	Path   string
	Size   int64
	Reason string // ReasonNew, ReasonChanged or ReasonForced
	// Step orders the uploads: all of a step are uploaded before any of
	// the next (see [Deploy]).
	Step int
	sum  [sha256.Size]byte
}

// Why a file is uploaded.
const (
	ReasonNew     = "new"     // no object at its path
	ReasonChanged = "changed" // an object with other bytes, or bytes not known
	ReasonForced  = "forced"  // Options.Force
)

// Upload steps, in order: new paths (packets and keyrings, other files,
// pages), then paths the previous release holds with other bytes (other
// files, pages).
const (
	stepNewDigestNamed = iota
	stepNewFile
	stepNewPage
	stepOverwriteFile
	stepOverwritePage
)

// remoteRelease is what the bucket's SHA256SUMS and its bundle hold.
type remoteRelease struct {
	manifest, bundle []byte
	sums             map[string][sha256.Size]byte // nil when none could be read
	// unreadable is set when the bucket holds a SHA256SUMS that could not
	// be read: any object may belong to the release it stands for.
	unreadable bool
}

// plan compares the site with the bucket. It reads and lists, and writes
// nothing.
func (d *deployer) plan(ctx context.Context) (Plan, error) {
	objects, err := d.list(ctx)
	if err != nil {
		return Plan{}, err
	}
	remote, plan, err := d.readRemote(ctx, objects)
	if err != nil {
		return plan, err
	}
	if err := d.checkRelease(ctx, remote); err != nil {
		return plan, err
	}
	listed := make(map[string]bool, len(d.local.entries))
	var unsure []int // files the bucket may hold: ask their metadata
	for i, e := range d.local.entries {
		listed[e.Path] = true
		size := d.local.sizes[i]
		got, there := objects[e.Path]
		switch {
		case d.opt.Force:
			plan.add(e, size, ReasonForced, there && remote.holds(e.Path))
		case !there:
			plan.add(e, size, ReasonNew, false)
		case remote.sums != nil && got == size && remote.sums[e.Path] == e.Sum:
			plan.Unchanged++
		case got != size:
			plan.add(e, size, ReasonChanged, remote.holds(e.Path))
		default:
			unsure = append(unsure, i)
		}
	}
	if err := d.checkUploaded(ctx, &plan, remote, unsure); err != nil {
		return plan, err
	}
	for key := range objects {
		if !listed[key] && !isRelease(key) {
			plan.Deletes = append(plan.Deletes, key)
		}
	}
	slices.Sort(plan.Deletes)
	if _, signedBefore := objects[format.ManifestBundle]; signedBefore && d.local.bundle == nil {
		// An unsigned site's SHA256SUMS must not stand next to the bundle of
		// another: it goes first.
		plan.Deletes = append([]string{format.ManifestBundle}, plan.Deletes...)
	}
	slices.SortStableFunc(plan.Uploads, func(a, b Upload) int {
		return cmp.Or(cmp.Compare(a.Step, b.Step), strings.Compare(a.Path, b.Path))
	})
	plan.Manifest = d.opt.Force || !bytes.Equal(remote.manifest, d.local.manifest)
	plan.Bundle = d.local.bundle != nil && (d.opt.Force || !bytes.Equal(remote.bundle, d.local.bundle))
	if plan.Manifest {
		plan.Bytes += int64(len(d.local.manifest))
	}
	if plan.Bundle {
		plan.Bytes += int64(len(d.local.bundle))
	}
	return plan, nil
}

// holds reports whether the bucket's previous release may list the
// slash path p: it does, or it could not be read.
func (r remoteRelease) holds(p string) bool {
	_, ok := r.sums[p]
	return ok || r.unreadable
}

// readRemote reads the bucket's SHA256SUMS and, for a signed site, its
// bundle, if the listing shows them. A SHA256SUMS that cannot be parsed or
// is too large is reported in the plan, not as an error: every file is then
// checked by its metadata.
func (d *deployer) readRemote(ctx context.Context, objects map[string]int64) (remoteRelease, Plan, error) {
	var r remoteRelease
	plan := Plan{Previous: PreviousNone}
	if _, ok := objects[format.Manifest]; ok {
		data, err := d.readObject(ctx, format.Manifest, manifest.ManifestLimit)
		var tooLarge *manifest.TooLargeError
		switch {
		case errors.As(err, &tooLarge):
			plan.Previous = fmt.Sprintf("the bucket's %s is %v", format.Manifest, err)
			r.unreadable = true
		case err != nil:
			return r, plan, err
		case data != nil:
			r.manifest = data
			entries, err := manifest.Parse("the bucket's "+format.Manifest, data)
			if err != nil {
				plan.Previous = firstLine(err)
				r.unreadable = true
				break
			}
			plan.Previous = PreviousRead
			r.sums = make(map[string][sha256.Size]byte, len(entries))
			for _, e := range entries {
				r.sums[e.Path] = e.Sum
			}
		}
	}
	if _, ok := objects[format.ManifestBundle]; ok && d.local.bundle != nil {
		data, err := d.readObject(ctx, format.ManifestBundle, manifest.BundleLimit)
		var tooLarge *manifest.TooLargeError
		if err != nil && !errors.As(err, &tooLarge) {
			return r, plan, err
		}
		r.bundle = data
	}
	return r, plan, nil
}

// checkUploaded asks the bucket for the metadata of the files it may hold
// already (the objects at their path have their size): a file whose
// object carries its digest is resumed, the others are uploaded.
func (d *deployer) checkUploaded(ctx context.Context, plan *Plan, remote remoteRelease, unsure []int) error {
	resumed := make([]bool, len(unsure))
	err := d.parallel(ctx, len(unsure), func(ctx context.Context, j int) error {
		e := d.local.entries[unsure[j]]
		digest, size, err := d.uploadedDigest(ctx, e.Path)
		resumed[j] = err == nil && size == d.local.sizes[unsure[j]] && digest == hex.EncodeToString(e.Sum[:])
		return err
	})
	if err != nil {
		return err
	}
	for j, i := range unsure {
		if resumed[j] {
			plan.Resumed++
			continue
		}
		e := d.local.entries[i]
		plan.add(e, d.local.sizes[i], ReasonChanged, remote.holds(e.Path))
	}
	return nil
}

// add plans the upload of the file e of size bytes; overwrite says that
// the bucket's previous release holds its path.
func (p *Plan) add(e manifest.Entry, size int64, reason string, overwrite bool) {
	page := strings.HasSuffix(e.Path, ".html")
	step := stepNewFile
	switch {
	case overwrite && page:
		step = stepOverwritePage
	case overwrite:
		step = stepOverwriteFile
	case digestNamed(e.Path):
		step = stepNewDigestNamed
	case page:
		step = stepNewPage
	}
	p.Uploads = append(p.Uploads, Upload{Path: e.Path, Size: size, Reason: reason, Step: step, sum: e.Sum})
	p.Bytes += size
}

// firstLine is the first problem of a parse error.
func firstLine(err error) string {
	var l diag.List
	if errors.As(err, &l) && len(l) > 0 {
		return l[0].Error()
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
