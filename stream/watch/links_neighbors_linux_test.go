//go:build linux

package watch_test

import (
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
)

// An entry the watcher leaves out (NOARP, FAILED, INCOMPLETE) is one the
// kernel still notifies when it gets there: the table must drop it then,
// and not keep its last shown state. Entries made INCOMPLETE or NONE are
// not notified at all, and a FAILED one goes back to INCOMPLETE silently
// when the kernel tries it again (a managed entry does so every few
// seconds): the table leaves them out.
func TestNeighborsTableDropsEntriesThatLeaveTheStatesItHolds(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	w, err := watch.Neighbors(watch.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Neighbor](watch.SnapshotComplete, nil))
	view := neighView(ns, w)
	for _, step := range []string{
		"neigh add 10.5.0.10 dev v0 lladdr 02:00:00:00:00:0a nud permanent",
		"neigh replace 10.5.0.10 dev v0 lladdr 02:00:00:00:00:0a nud noarp",
		"neigh add 10.5.0.11 dev v0 lladdr 02:00:00:00:00:0b nud reachable",
		"neigh replace 10.5.0.11 dev v0 lladdr 02:00:00:00:00:0b nud failed",
		"neigh add 10.5.0.12 dev v0 nud incomplete",
		"neigh add 10.5.0.13 dev v0 managed",
		"neigh add 10.5.0.14 dev v0 lladdr 02:00:00:00:00:0e nud stale",
	} {
		ns.IP(strings.Fields(step)...)
		equalsIP(t, step, view)
	}
	got, _ := w.Table().Snapshot()
	if len(got) != 1 {
		t.Errorf("the table holds %d entries, want 1 (10.5.0.14): %v", len(got), got)
	}
}
