// Command testreport reads `go test -json` output on stdin and prints what a person needs
// from a long run: each failing test's own output (not the thousands of passing lines
// around it), each package's result, and the counts. It exits 1 when a test failed, a
// package failed to build or any test was skipped (a skipped test is a broken harness).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	output := map[string][]string{} // package/test → its output lines
	var failed, skipped []string
	var packages []string
	pkgResult := map[string]string{}
	passed := 0
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			// Build errors arrive as plain lines before the JSON of their package.
			fmt.Println(sc.Text())
			continue
		}
		key := ev.Package + " " + ev.Test
		switch ev.Action {
		case "build-output":
			fmt.Print(ev.Output)
		case "output":
			output[key] = append(output[key], ev.Output)
		case "pass":
			if ev.Test == "" {
				pkgResult[ev.Package] = "ok"
				packages = append(packages, ev.Package)
			} else {
				passed++
				delete(output, key)
			}
		case "skip":
			if ev.Test != "" {
				skipped = append(skipped, key)
			}
			delete(output, key)
		case "fail":
			if ev.Test == "" {
				pkgResult[ev.Package] = "FAIL"
				packages = append(packages, ev.Package)
			} else {
				failed = append(failed, key)
			}
		}
	}
	for _, k := range failed {
		// A parent test's output holds only its own lines; its failing subtests print theirs.
		fmt.Printf("=== FAIL %s\n%s\n", k, strings.Join(output[k], ""))
	}
	sort.Strings(packages)
	for _, p := range packages {
		if pkgResult[p] == "FAIL" {
			fmt.Printf("FAIL %s\n%s", p, strings.Join(output[p+" "], ""))
		}
	}
	for _, k := range skipped {
		fmt.Printf("SKIP %s\n", k)
	}
	fmt.Printf("%d packages, %d tests passed, %d failed, %d skipped\n", len(packages), passed, len(failed), len(skipped))
	if len(failed) > 0 || len(skipped) > 0 || strings.Contains(fmt.Sprint(pkgResult), "FAIL") {
		os.Exit(1)
	}
}
