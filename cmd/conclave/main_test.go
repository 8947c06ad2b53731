package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/conclave-dev/conclave/internal/testtool"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"conclave": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end tests in testdata/script: each file is a
// small site and the conclave commands run on it. Besides testscript's own
// commands, scripts may use:
//
//	exitcode N PROG [ARGS...]  run PROG and check that it exits with code N
//	writebytes FILE TEXT       write TEXT, a Go string literal body, to FILE
//	cptree SRC DST             copy the folder SRC to DST
//	cmptree A B                check that folders A and B hold the same files
//	ls DIR                     print DIR's entries, hidden ones included
//
// and the condition [tool:NAME], true if the program NAME is installed. A
// missing program fails the script instead when CONCLAVE_REQUIRE_TOOLS=1.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":   cmdExitcode,
			"writebytes": cmdWritebytes,
			"cptree":     cmdCptree,
			"cmptree":    cmdCmptree,
			"ls":         cmdLs,
		},
		Condition: func(cond string) (bool, error) {
			name, ok := strings.CutPrefix(cond, "tool:")
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if _, err := exec.LookPath(name); err != nil {
				if testtool.Required() {
					return false, fmt.Errorf("%s is not installed and CONCLAVE_REQUIRE_TOOLS=1", name)
				}
				return false, nil
			}
			return true, nil
		},
	})
}

func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with code %d, want %d", args[1], got, want)
	}
}

func cmdWritebytes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: writebytes FILE TEXT")
	}
	data, err := strconv.Unquote(`"` + args[1] + `"`)
	if err != nil {
		ts.Fatalf("writebytes: TEXT is not the body of a Go string literal: %v", err)
	}
	p := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
	ts.Check(os.WriteFile(p, []byte(data), 0o644))
}

func cmdCptree(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cptree SRC DST")
	}
	ts.Check(os.CopyFS(ts.MkAbs(args[1]), os.DirFS(ts.MkAbs(args[0]))))
}

func cmdCmptree(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cmptree A B")
	}
	a, b := readTree(ts, args[0]), readTree(ts, args[1])
	var diffs []string
	for p, data := range a {
		other, ok := b[p]
		switch {
		case !ok:
			diffs = append(diffs, p+": only in "+args[0])
		case !bytes.Equal(data, other):
			diffs = append(diffs, p+": differs")
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			diffs = append(diffs, p+": only in "+args[1])
		}
	}
	slices.Sort(diffs)
	switch {
	case neg && len(diffs) == 0:
		ts.Fatalf("%s and %s are identical", args[0], args[1])
	case !neg && len(diffs) > 0:
		ts.Fatalf("%s and %s differ:\n%s", args[0], args[1], strings.Join(diffs, "\n"))
	}
}

// readTree maps the slash path of every file under dir to its contents.
func readTree(ts *testscript.TestScript, dir string) map[string][]byte {
	files, err := testtool.ReadTree(ts.MkAbs(dir))
	ts.Check(err)
	return files
}

func cmdLs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: ls DIR")
	}
	entries, err := os.ReadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, e := range entries {
		fmt.Fprintln(ts.Stdout(), e.Name())
	}
}
