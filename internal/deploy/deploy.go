// Package deploy publishes a built, verified site to object storage: an
// S3, Google Cloud Storage or Azure bucket, or a folder, through
// gocloud.dev/blob (DESIGN §12).
//
// # What a deploy does
//
// [Deploy] runs these steps in order, and stops at the first that fails:
//
//  1. The site verifies, as conclave verify checks it: its bundle signs
//     its SHA256SUMS for the expected signer, and the folder holds
//     exactly the files SHA256SUMS lists. An unsigned site is deployed
//     only to a target that takes one, when the caller allows it; its
//     files are still checked against SHA256SUMS.
//  2. The plan: the bucket's SHA256SUMS is read (it is the previous
//     release) and the bucket listed. A file is unchanged when the
//     bucket's SHA256SUMS lists it with the same digest and the bucket
//     holds an object of its size at its path. A file that is not is
//     uploaded, unless the object at its path carries the file's digest
//     in its "sha256" metadata, which a deploy writes with every object
//     it uploads (the object was uploaded whole by a deploy that did not
//     finish). ETags are never trusted: a multipart upload's is no MD5.
//     An object the site does not list is stale. Nothing is written
//     while planning: a dry run stops here.
//     A site whose release (release.json) is older than the bucket's is
//     refused: readers would be rolled back.
//  3. More stale objects than [Options.MaxDeletes] stop the deploy
//     before anything is uploaded.
//  4. Uploads, a bounded number at once, each retried with backoff: new
//     paths first (packets and keyrings, then other files, then pages),
//     so that a page never names a packet not yet uploaded; then the
//     files whose path the previous release holds with other content
//     (assets, then pages). Each file is hashed as it is sent, and an
//     upload whose bytes are not the verified digest is aborted.
//  5. SHA256SUMS, then its bundle: the new release.
//  6. Stale objects are deleted.
//
// # What a failed deploy leaves
//
// Until step 4 reaches its first overwrite, the bucket's previous
// release verifies as it did: the objects added are new paths that its
// SHA256SUMS does not list. Overwrites (pages and assets whose path stays
// and whose content changed) come last, just before SHA256SUMS: a deploy
// that fails among them leaves a bucket that fails verification (readers
// that verify, such as conclave pull, refuse it and keep what they had)
// until a deploy finishes. Between SHA256SUMS and its bundle, two small
// uploads, the pair does not verify either. Rerun the deploy: it uploads
// only what is not there yet.
package deploy

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"gocloud.dev/blob"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/sign"
	"github.com/conclave-dev/conclave/internal/site"
)

// Defaults of [Options].
const (
	// DefaultMaxDeletes is the most stale objects a deploy deletes unless
	// told otherwise: more usually means a wrong bucket or prefix.
	DefaultMaxDeletes = 256
	// DefaultJobs is how many uploads (or deletes) run at once.
	DefaultJobs = 8
)

// Options say what to deploy, where, and how.
type Options struct {
	// Dir is the folder of the built site.
	Dir string
	// Target is where to: its URL, and whether it takes an unsigned site.
	Target site.DeployTarget
	// Policy is the signer the site must carry. It may be nil only for an
	// unsigned site deployed with AllowUnsigned.
	Policy *sign.Policy
	// AllowUnsigned deploys a site that has no bundle, to a target that
	// takes one (Target.Unsigned): its files are checked against its
	// SHA256SUMS, and any bundle the bucket holds is deleted before the
	// new SHA256SUMS is uploaded. A signed site is verified all the same.
	AllowUnsigned bool
	// MaxDeletes is the most stale objects the deploy deletes; a bucket
	// holding more is refused before anything is uploaded.
	MaxDeletes int
	// DryRun plans without writing anything to the bucket.
	DryRun bool
	// Force uploads every file, whatever the bucket holds.
	Force bool
	// AllowOlder deploys a site whose release is older than the one the
	// bucket holds ([OlderReleaseError]).
	AllowOlder bool
	// Jobs is how many uploads run at once (default [DefaultJobs]).
	Jobs int
	// Progress, if set, gets a progress line, rewritten in place with
	// carriage returns: give it a terminal only.
	Progress io.Writer
}

// Report says what a deploy did, or, for a dry run or a deploy refused
// for its deletes, what it would do.
type Report struct {
	Target string // the target's name
	URL    string
	Files  int    // files SHA256SUMS lists
	Signer string // who signed the site; "" for an unsigned site
	Plan   Plan
	// What was done: objects uploaded (SHA256SUMS and its bundle
	// included) and their bytes, objects deleted, and operations tried
	// again after a failure.
	Uploaded, Deleted, Retries int
	Bytes                      int64
	// Overwritten counts the files uploaded over an object of the
	// previous release with other bytes: once there is one, the previous
	// release no longer verifies.
	Overwritten int
	// Released is set once SHA256SUMS and its bundle are uploaded (or
	// were there): the bucket holds the new release.
	Released bool
}

// Deploy publishes the site at opt.Dir to opt.Target (see the package
// documentation for the steps). On an error the report, if not nil, says
// what was planned and done before it.
func Deploy(ctx context.Context, opt Options) (*Report, error) {
	if opt.MaxDeletes < 0 {
		return nil, fmt.Errorf("the most deletes must be 0 or more, not %d", opt.MaxDeletes)
	}
	if opt.Jobs <= 0 {
		opt.Jobs = DefaultJobs
	}
	local, err := readSite(opt)
	if err != nil {
		return nil, err
	}
	defer local.close()
	rep := &Report{Target: opt.Target.Name, URL: opt.Target.URL, Files: len(local.entries), Signer: local.signer}
	bucket, err := openBucket(ctx, opt.Target)
	if err != nil {
		return nil, err
	}
	defer bucket.Close()
	d := &deployer{opt: opt, local: local, bucket: bucket, rep: rep}
	if rep.Plan, err = d.plan(ctx); err != nil {
		return rep, err
	}
	if n := len(rep.Plan.Deletes); n > opt.MaxDeletes {
		return rep, &TooManyDeletesError{Target: opt.Target.Name, N: n, Max: opt.MaxDeletes}
	}
	if opt.DryRun {
		return rep, nil
	}
	stop := d.progress()
	err = d.uploadFiles(ctx)
	if err == nil {
		err = d.uploadRelease(ctx)
		rep.Released = err == nil
	}
	if err == nil {
		err = d.deleteStale(ctx)
	}
	stop()
	rep.Overwritten = int(d.overwritten.Load())
	rep.Uploaded, rep.Bytes = int(d.uploaded.Load()), d.bytes.Load()
	rep.Deleted, rep.Retries = int(d.deleted.Load()), int(d.retries.Load())
	return rep, err
}

// deployer holds the state of one deploy.
type deployer struct {
	opt    Options
	local  *localSite
	bucket *blob.Bucket
	rep    *Report

	// Counted as they happen, for the progress line and the report.
	uploaded, deleted, retries, overwritten atomic.Int64
	bytes                                   atomic.Int64
}

// TooManyDeletesError is a deploy refused, before it uploaded anything,
// because the bucket holds more objects the site does not list than it
// may delete.
type TooManyDeletesError struct {
	Target string
	N, Max int
}

func (e *TooManyDeletesError) Error() string {
	return fmt.Sprintf("deploy target %q holds %d objects the site does not list, more than the %d a deploy deletes: nothing was uploaded or deleted", e.Target, e.N, e.Max)
}

// isRelease reports whether the slash path p is SHA256SUMS or its bundle,
// which a deploy uploads last.
func isRelease(p string) bool { return p == format.Manifest || p == format.ManifestBundle }
