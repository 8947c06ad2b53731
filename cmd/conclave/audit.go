package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/audit"
	"github.com/conclave-dev/conclave/internal/site"
)

func auditCmd() *cobra.Command {
	var (
		src, diff, asOf string
		asJSON          bool
		opt             audit.Options
	)
	cmd := &cobra.Command{
		Use:   "audit [--json] [--diff OLD]",
		Short: "Show who can read each restricted passage",
		Long: `Audit lists every restricted passage of the site with its TLP label, its
audience and the recipients that audience expands to, then how many
passages each recipient may read. It reads the sources; it encrypts and
writes nothing.

Passages under an embargo are listed until it lifts, and again, by time,
under "Embargoes", with the label they will be published with; --json
gives them as "lifts". A passage whose embargo has lifted is public, and
not listed.

With --diff OLD it shows what changed in access since OLD: a report saved
earlier with --json (keep one per release), or the folder of an older copy
of the site's sources (a git worktree of the last release, say). A passage is
known by its page and its rank there.

Its output names recipients: it is for authors, not for publishing.`,
		Example: `  conclave audit
  conclave audit --json > audit-2026-11.json
  conclave audit --diff audit-2026-11.json
  conclave audit --json --now 2026-12-01T00:00:00Z | jq '.lifts'    # embargoes holding then
  git worktree add /tmp/last v1.4 && conclave audit --diff /tmp/last`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asOf != "" {
				t, err := site.ParseEmbargo(asOf)
				if err != nil {
					return usageError{fmt.Errorf("--now: %v", err)}
				}
				opt.Now = t
			}
			cur, err := audit.Load(src, opt)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if diff == "" {
				if asJSON {
					_, err := w.Write(cur.JSON())
					return err
				}
				cur.Print(w)
				return nil
			}
			old, err := loadOld(diff, opt)
			if err != nil {
				return err
			}
			changes := audit.Diff(old, cur)
			if asJSON {
				_, err := w.Write(audit.DiffJSON(changes))
				return err
			}
			audit.PrintDiff(w, changes)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&src, "source", "s", ".", "site folder, holding conclave.toml")
	f.BoolVar(&asJSON, "json", false, "write JSON")
	f.StringVar(&diff, "diff", "", "compare with an older report (from --json) or site folder")
	f.BoolVarP(&opt.Drafts, "drafts", "D", false, "include pages marked draft: true")
	f.StringVar(&asOf, "now", "", "report as of TIME (RFC 3339, such as 2026-12-09T17:00:00Z): embargoes lifted by then are public")
	return cmd
}

// loadOld reads the other side of --diff: a saved report, or a site.
func loadOld(name string, opt audit.Options) (*audit.Report, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		if _, err := os.Stat(filepath.Join(name, site.ConfigFile)); err != nil {
			return nil, usageError{fmt.Errorf("--diff %s: a folder must be a site, holding %s", name, site.ConfigFile)}
		}
		return audit.Load(name, opt)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	r, err := audit.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("--diff %s: %w", name, err)
	}
	return r, nil
}
