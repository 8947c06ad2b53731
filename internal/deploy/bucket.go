package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/gcsblob"   // gs://
	_ "gocloud.dev/blob/s3blob"    // s3://
	"gocloud.dev/gcerrors"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/site"
)

// Retries: an operation that fails for a reason that may pass (a network
// error, a server's 5xx, a timeout) is tried maxAttempts times in all,
// waiting firstBackoff, then twice as long each time, give or take a
// half.
const (
	maxAttempts  = 4
	firstBackoff = 500 * time.Millisecond
)

// Test seams: tests wait less between attempts, and learn of each object
// uploaded.
var (
	testOnlyBackoff  time.Duration
	testOnlyUploaded func(key string)
)

// openBucket opens the target's bucket. The URL was checked when the
// configuration was read (no credentials in it); the cloud's SDK reads
// the credentials from the environment.
func openBucket(ctx context.Context, t site.DeployTarget) (*blob.Bucket, error) {
	if err := site.CheckDeployURL(t.URL); err != nil {
		return nil, fmt.Errorf("deploy target %q: url: %w", t.Name, err)
	}
	b, err := blob.OpenBucket(ctx, t.URL)
	if err != nil {
		return nil, fmt.Errorf("deploy target %q: cannot open %s: %w", t.Name, t.URL, err)
	}
	return b, nil
}

// retry calls op until it succeeds, fails for a reason that will not
// pass, or has been tried maxAttempts times; what names the operation in
// its error.
func (d *deployer) retry(ctx context.Context, what string, op func() error) error {
	wait := firstBackoff
	if testOnlyBackoff > 0 {
		wait = testOnlyBackoff
	}
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if attempt == maxAttempts || !transient(err) || ctx.Err() != nil {
			return &OpError{Op: what, Tries: attempt, Err: err}
		}
		d.retries.Add(1)
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return &OpError{Op: what, Tries: attempt, Err: ctx.Err()}
		case <-t.C:
		}
		wait *= 2
	}
}

// OpError is an operation on the bucket that failed, and how many times
// it was tried. Its message gives the cause only (what the service said,
// or the network error), not the chain of layers it went through.
type OpError struct {
	Op    string // "upload index.html"
	Tries int
	Err   error
}

func (e *OpError) Error() string {
	tried := ""
	if e.Tries > 1 {
		tried = fmt.Sprintf(" (tried %d times)", e.Tries)
	}
	return fmt.Sprintf("%s%s: %s", e.Op, tried, cause(e.Err))
}

func (e *OpError) Unwrap() error { return e.Err }

// cause is the message of what made an operation fail: the error a
// service answered (S3's code and message), the network's, or else the
// driver's message without gocloud's prefix, which repeats the key.
func cause(err error) string {
	var api interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &api) && api.ErrorCode() != "" {
		if m := api.ErrorMessage(); m != "" {
			return api.ErrorCode() + ": " + m
		}
		return api.ErrorCode()
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error()
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "blob (key "); ok {
		if _, after, ok := strings.Cut(rest, "): "); ok {
			return after
		}
	}
	return msg
}

// transient reports whether an operation that failed with err may succeed
// if tried again.
func transient(err error) bool {
	var (
		changed  *changedError
		local    *localError
		tooLarge *manifest.TooLargeError
	)
	if errors.As(err, &changed) || errors.As(err, &local) || errors.As(err, &tooLarge) || errors.Is(err, context.Canceled) {
		return false
	}
	// A 4xx answer but for a timeout or a throttle: the request is wrong
	// (credentials, permissions), and will be again.
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		if c := status.HTTPStatusCode(); c >= 400 && c < 500 && c != 408 && c != 429 {
			return false
		}
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.AlreadyExists, gcerrors.InvalidArgument, gcerrors.FailedPrecondition,
		gcerrors.PermissionDenied, gcerrors.Unimplemented, gcerrors.Canceled:
		return false
	}
	return true
}

// readObject reads the object at key whole, if it is there and holds at
// most limit.Bytes bytes; a missing object is (nil, nil).
func (d *deployer) readObject(ctx context.Context, key string, limit manifest.Limit) ([]byte, error) {
	var data []byte
	err := d.retry(ctx, "read "+key, func() error {
		r, err := d.bucket.NewReader(ctx, key, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		if r.Size() > limit.Bytes {
			return &manifest.TooLargeError{Size: r.Size(), Limit: limit}
		}
		data, err = io.ReadAll(io.LimitReader(r, limit.Bytes+1))
		if err == nil && int64(len(data)) > limit.Bytes {
			err = &manifest.TooLargeError{Size: int64(len(data)), Limit: limit, Grew: true}
		}
		return err
	})
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	return data, err
}

// list returns the size of every object of the bucket, by key.
func (d *deployer) list(ctx context.Context) (map[string]int64, error) {
	var objects map[string]int64
	err := d.retry(ctx, "list the bucket", func() error {
		objects = map[string]int64{}
		it := d.bucket.List(nil)
		for {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if !obj.IsDir {
				objects[obj.Key] = obj.Size
			}
		}
	})
	return objects, err
}

// uploadedDigest returns the digest an object's metadata says it holds,
// as a deploy wrote it, and its size; a missing object has size -1.
func (d *deployer) uploadedDigest(ctx context.Context, key string) (string, int64, error) {
	var attrs *blob.Attributes
	err := d.retry(ctx, "read the attributes of "+key, func() (err error) {
		attrs, err = d.bucket.Attributes(ctx, key)
		return err
	})
	if gcerrors.Code(err) == gcerrors.NotFound {
		return "", -1, nil
	}
	if err != nil {
		return "", 0, err
	}
	return attrs.Metadata[MetadataSHA256], attrs.Size, nil
}

// changedError is a file whose bytes are not those the deploy verified:
// it changed since. Its upload is aborted, and not tried again.
type changedError struct{ path string }

func (e *changedError) Error() string {
	return fmt.Sprintf("%s changed since the site was verified: not uploaded (build and sign it again)", e.path)
}

// localError is a file of the site that cannot be read: an upload that
// fails for it is not tried again.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// put uploads the bytes that open returns to key, with the headers of
// the site's path key and its digest in its metadata. The bytes must have
// the digest sum and size bytes: if they do not, the upload is aborted
// and nothing is written.
func (d *deployer) put(ctx context.Context, key string, sum [sha256.Size]byte, size int64, open func() (io.ReadCloser, error)) error {
	err := d.retry(ctx, "upload "+key, func() error {
		src, err := open()
		if err != nil {
			return &localError{err}
		}
		defer src.Close()
		// Canceling wctx before Close aborts the write.
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w, err := d.bucket.NewWriter(wctx, key, &blob.WriterOptions{
			ContentType:  ContentType(key),
			CacheControl: CacheControl(key),
			Metadata:     map[string]string{MetadataSHA256: hex.EncodeToString(sum[:])},
		})
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(w, io.TeeReader(io.LimitReader(src, size+1), h))
		if err == nil && (n != size || [sha256.Size]byte(h.Sum(nil)) != sum) {
			err = &changedError{path: key}
		}
		if err != nil {
			cancel()
			w.Close()
			return err
		}
		return w.Close()
	})
	if err != nil {
		return err
	}
	d.uploaded.Add(1)
	d.bytes.Add(size)
	if testOnlyUploaded != nil {
		testOnlyUploaded(key)
	}
	return nil
}

// remove deletes the object at key; one already gone is no error.
func (d *deployer) remove(ctx context.Context, key string) error {
	err := d.retry(ctx, "delete "+key, func() error { return d.bucket.Delete(ctx, key) })
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	d.deleted.Add(1)
	return nil
}
