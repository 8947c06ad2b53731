package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/scaffold"
)

func newCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Create a new site or briefing",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("new needs what to create: site DIR, or briefing TITLE")}
		},
	}
	cmd.AddCommand(newSiteCmd(), newBriefingCmd())
	return cmd
}

func newSiteCmd() *cobra.Command {
	var title string
	cmd := &cobra.Command{
		Use:     "site DIR",
		Short:   "Create a new site in DIR",
		Example: `  conclave new site briefings --title "Vendor circle briefings"`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			files, err := scaffold.Site(dir, title)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "conclave: created a site in %s (%d files)\n", dir, len(files))
			fmt.Fprintf(out, "\nNext:\n  cd %s\n  conclave new briefing \"My first briefing\"\n  conclave serve\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&title, "title", "Briefings", "site title")
	return cmd
}

func newBriefingCmd() *cobra.Command {
	var source, section string
	cmd := &cobra.Command{
		Use:   "briefing TITLE",
		Short: "Create a draft briefing in content/SECTION/",
		Long: `Create content/SECTION/<slug>.md with front matter for TITLE, dated today and
marked as a draft: conclave build leaves it out until you remove "draft: true"
(conclave build --drafts includes it).`,
		Example: `  conclave new briefing "Embargoed advisory: CVE-2026-1234"
  conclave new briefing --section notes "Board meeting, March"`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rel, err := scaffold.Briefing(source, section, args[0], time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "conclave: created %s\n", filepath.ToSlash(filepath.Join(source, rel)))
			return nil
		},
	}
	cmd.Flags().StringVarP(&source, "source", "s", ".", "site folder, holding conclave.toml")
	cmd.Flags().StringVar(&section, "section", "briefings", "section (folder under content/)")
	return cmd
}
