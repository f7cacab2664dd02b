// Command shardhash writes where Temporal's own workflow-to-shard function puts a set of workflows, for the
// shard-mapping unit tests (tests/shards): one line per workflow, its id and its shard for each count.
//
//	# namespace <id>
//	# counts 2 3 4 ...
//	<workflow id> <shard with 2 shards> <shard with 3 shards> ...
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.temporal.io/server/common"
)

func main() {
	namespaceID := flag.String("namespace-id", "3f1c6c1e-8d2a-4c53-9d1e-5b0f7a2e4c11", "the namespace id the workflows belong to")
	counts := flag.String("counts", "1,2,3,4,5,6,12,15", "shard counts, comma separated")
	workflows := flag.Int("workflows", 300, "workflows to place, named wf-0, wf-1, ...")
	out := flag.String("out", "", "file to write (required)")
	flag.Parse()
	if *out == "" || *workflows < 1 {
		fmt.Fprintln(os.Stderr, "shardhash: --out is required and --workflows must be at least 1")
		os.Exit(2)
	}
	var shardCounts []int32
	for _, field := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "shardhash: bad shard count %q\n", field)
			os.Exit(2)
		}
		shardCounts = append(shardCounts, int32(n))
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "shardhash: %v\n", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "# namespace %s\n# counts", *namespaceID)
	for _, n := range shardCounts {
		fmt.Fprintf(w, " %d", n)
	}
	fmt.Fprintln(w)
	for i := 0; i < *workflows; i++ {
		id := fmt.Sprintf("wf-%d", i)
		fmt.Fprint(w, id)
		for _, n := range shardCounts {
			fmt.Fprintf(w, " %d", common.WorkflowIDToHistoryShard(*namespaceID, id, n))
		}
		fmt.Fprintln(w)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "shardhash: %v\n", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "shardhash: %v\n", err)
		os.Exit(1)
	}
}
