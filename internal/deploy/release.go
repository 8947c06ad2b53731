package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
)

// OlderReleaseError is a deploy refused, before anything was written,
// because the bucket holds a newer release than the site's: deploying it
// would take readers back to an older site, sealing again a passage whose
// embargo lifted, or giving back to a removed reader what the newer
// release took away. Readers that pull refuse it too.
type OlderReleaseError struct {
	Target        string
	Local, Remote time.Time
}

func (e *OlderReleaseError) Error() string {
	return fmt.Sprintf("deploy target %q holds a release of %s, newer than this site's (%s): deploying it would roll readers back; build the site again, or give --allow-older to deploy it all the same",
		e.Target, e.Remote.Format(time.RFC3339), e.Local.Format(time.RFC3339))
}

// checkRelease refuses a site whose release (release.json, which its
// verified SHA256SUMS lists) is older than the one the bucket holds, when
// the bucket's SHA256SUMS lists one that reads. A site or bucket without
// one (an older conclave's) is not compared.
func (d *deployer) checkRelease(ctx context.Context, remote remoteRelease) error {
	if d.opt.AllowOlder || remote.sums == nil {
		return nil
	}
	if _, listed := remote.sums[format.ReleaseFile]; !listed {
		return nil
	}
	local, ok, err := d.local.release()
	if err != nil || !ok {
		return err
	}
	data, err := d.readObject(ctx, format.ReleaseFile, manifest.Limit{Bytes: format.MaxReleaseSize, What: "a " + format.ReleaseFile})
	if err != nil || data == nil {
		return err
	}
	theirs, err := format.ParseRelease(data)
	if err != nil {
		return nil // not a release this conclave reads: nothing to compare
	}
	if local.Time.Before(theirs.Time) {
		return &OlderReleaseError{Target: d.opt.Target.Name, Local: local.Time, Remote: theirs.Time}
	}
	return nil
}

// release reads the site's release.json, if SHA256SUMS lists it.
func (s *localSite) release() (format.Release, bool, error) {
	listed := false
	for _, e := range s.entries {
		listed = listed || e.Path == format.ReleaseFile
	}
	if !listed {
		return format.Release{}, false, nil
	}
	data, _, err := manifest.ReadFile(s.fsys, format.ReleaseFile, manifest.Limit{Bytes: format.MaxReleaseSize, What: "a " + format.ReleaseFile})
	if err != nil {
		return format.Release{}, false, err
	}
	r, err := format.ParseRelease(data)
	if err != nil {
		return format.Release{}, false, fmt.Errorf("%s/%s: %v", s.dir, format.ReleaseFile, err)
	}
	return r, true, nil
}
