package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/progress"
)

// uploadFiles uploads the plan's files, step by step: every upload of a
// step is done before the next step starts. It stops at the first
// failure.
func (d *deployer) uploadFiles(ctx context.Context) error {
	ups := d.rep.Plan.Uploads
	for start := 0; start < len(ups); {
		end := start
		for end < len(ups) && ups[end].Step == ups[start].Step {
			end++
		}
		err := d.parallel(ctx, end-start, func(ctx context.Context, i int) error {
			u := ups[start+i]
			err := d.put(ctx, u.Path, u.sum, u.Size, func() (io.ReadCloser, error) {
				f, _, err := manifest.OpenFile(d.local.fsys, u.Path, manifest.SizeLimit(u.Path))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", filepath.Join(d.local.dir, filepath.FromSlash(u.Path)), err)
				}
				return f, nil
			})
			if err == nil && u.Step >= stepOverwriteFile {
				d.overwritten.Add(1)
			}
			return err
		})
		if err != nil {
			return err
		}
		start = end
	}
	return nil
}

// uploadRelease uploads SHA256SUMS, then its bundle: the release. For an
// unsigned site, the bucket's bundle, which signs another SHA256SUMS, is
// deleted first.
func (d *deployer) uploadRelease(ctx context.Context) error {
	plan := &d.rep.Plan
	if d.local.bundle == nil && len(plan.Deletes) > 0 && plan.Deletes[0] == format.ManifestBundle {
		if err := d.remove(ctx, format.ManifestBundle); err != nil {
			return err
		}
	}
	upload := func(name string, data []byte) error {
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		return d.put(ctx, name, sha256.Sum256(data), int64(len(data)), open)
	}
	if plan.Manifest {
		if err := upload(format.Manifest, d.local.manifest); err != nil {
			return err
		}
	}
	if plan.Bundle {
		if err := upload(format.ManifestBundle, d.local.bundle); err != nil {
			return fmt.Errorf("%w (the bucket's %s is the new one: deploy again to upload its bundle)", err, format.Manifest)
		}
	}
	return nil
}

// deleteStale deletes the objects the site does not list.
func (d *deployer) deleteStale(ctx context.Context) error {
	keys := d.rep.Plan.Deletes
	if len(keys) > 0 && keys[0] == format.ManifestBundle && d.local.bundle == nil {
		keys = keys[1:] // deleted before SHA256SUMS was uploaded
	}
	return d.parallel(ctx, len(keys), func(ctx context.Context, i int) error {
		return d.remove(ctx, keys[i])
	})
}

// parallel calls op for 0 … n-1, opt.Jobs at a time. The first error
// cancels the calls not started and the context of those running, and is
// returned once they are all done.
func (d *deployer) parallel(ctx context.Context, n int, op func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range min(d.opt.Jobs, n) {
		wg.Go(func() {
			for i := range next {
				if err := op(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err() // the caller's context ended
	}
	return firstErr
}

// progress writes a progress line to opt.Progress until the function it
// returns is called, which clears it.
func (d *deployer) progress() (stop func()) {
	w := d.opt.Progress
	if w == nil {
		return func() {}
	}
	plan := &d.rep.Plan
	objects, total, deletes := plan.Objects(), plan.Bytes, len(plan.Deletes)
	return progress.Line(w, func() string {
		line := fmt.Sprintf("conclave: deploying to %s: uploaded %d of %d objects, %s of %s", d.opt.Target.Name,
			d.uploaded.Load(), objects, progress.Size(d.bytes.Load()), progress.Size(total))
		if n := d.deleted.Load(); n > 0 {
			line += fmt.Sprintf("; deleted %d of %d", n, deletes)
		}
		return line
	})
}
