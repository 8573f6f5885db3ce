//go:build linux

package conntrack_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
	"github.com/nlrx/nlrx/poller"
)

func watchTable(t *testing.T, p *poller.Poller, ns *nstest.NS, f conntrack.Filter, readBuffer int) *conntrack.Table {
	t.Helper()
	tb, err := conntrack.WatchTable(p, ns.Path(), f, readBuffer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close() })
	select {
	case <-tb.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the table's first dump did not come within 10 s")
	}
	if err := tb.Err(); err != nil {
		t.Fatal(err)
	}
	return tb
}

// waitSame waits, bounded, until the table holds what the kernel lists
// for f, and fails the test with both if it does not.
func waitSame(t *testing.T, tb *conntrack.Table, c *nl.Conn, f conntrack.Filter) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		changed := tb.Changed()
		got, _ := tb.Flows()
		want, err := conntrack.List(testCtx(t), c, f)
		if err != nil {
			t.Fatal(err)
		}
		g, w := flowLines(got), flowLines(want)
		if slices.Equal(g, w) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("table after 10 s (stats %+v): %d flows\n  %s\nkernel: %d\n  %s", tb.Stats(), len(g), strings.Join(g, "\n  "), len(w), strings.Join(w, "\n  "))
		}
	}
}

func TestTableFollowsCreatesUpdatesAndDeletes(t *testing.T) {
	ns := nstest.New(t)
	// Events for the flows made before the table listens, too.
	sysctl(t, ns, "nf_conntrack_events", "1")
	c := dial(t, ns)
	ctx := testCtx(t)
	fs := testFlows()
	for _, f := range fs[:3] {
		if err := conntrack.Create(ctx, c, f); err != nil {
			t.Fatal(err)
		}
	}
	tb := watchTable(t, nil, ns, conntrack.Filter{}, 0)
	waitSame(t, tb, c, conntrack.Filter{})
	if tb.Len() != 3 {
		t.Fatalf("%d flows after the first dump, want 3", tb.Len())
	}

	if err := conntrack.CreateFlows(ctx, c, fs[3:]); err != nil {
		t.Fatal(err)
	}
	up := fs[0]
	up.Mark = 42
	if err := conntrack.Update(ctx, c, up); err != nil {
		t.Fatal(err)
	}
	if err := conntrack.Delete(ctx, c, fs[1]); err != nil {
		t.Fatal(err)
	}
	waitSame(t, tb, c, conntrack.Filter{})
	got, ok := tb.Get(up.Key())
	if !ok || got.Mark != 42 {
		t.Fatalf("Get(%v): %v, %v; want mark 42", up.Key(), &got, ok)
	}
	if _, ok := tb.Get(fs[1].Key()); ok {
		t.Fatalf("Get(%v) found a deleted flow", fs[1].Key())
	}
	if err := conntrack.Flush(ctx, c, conntrack.Filter{}); err != nil {
		t.Fatal(err)
	}
	waitSame(t, tb, c, conntrack.Filter{})
	if tb.Len() != 0 {
		t.Fatalf("%d flows after a flush", tb.Len())
	}
	if st := tb.Stats(); st.Resyncs != 0 || st.Events == 0 {
		t.Fatalf("stats %+v: want events and no resync", st)
	}
}

func TestTableWithAFilterTakesFlowsInAndOut(t *testing.T) {
	ns := nstest.New(t)
	sysctl(t, ns, "nf_conntrack_events", "1")
	c := dial(t, ns)
	ctx := testCtx(t)
	createTestFlows(t, c)
	f := conntrack.Filter{Mark: 5}
	tb := watchTable(t, nil, ns, f, 0)
	waitSame(t, tb, c, f)
	if tb.Len() != 1 {
		t.Fatalf("%d flows with mark 5, want 1", tb.Len())
	}
	in := testFlows()[0]
	in.Mark = 5
	if err := conntrack.Update(ctx, c, in); err != nil {
		t.Fatal(err)
	}
	waitSame(t, tb, c, f)
	out := testFlows()[1]
	out.Mark = 6
	if err := conntrack.Update(ctx, c, out); err != nil {
		t.Fatal(err)
	}
	waitSame(t, tb, c, f)
	if _, ok := tb.Get(in.Key()); !ok || tb.Len() != 1 {
		t.Fatalf("table of %d flows; want only %v", tb.Len(), in.Key())
	}
}

func TestTableResyncsAfterAnOverrun(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns, nl.WithReadBuffer(4<<20))
	ctx := testCtx(t)
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Close(); <-p.Done() }()

	tb := watchTable(t, p, ns, conntrack.Filter{}, 16<<10)
	// Another socket of the same poller whose handler holds the loop at
	// its first event, so the table's socket overruns meanwhile.
	blocker, err := conntrack.DialEvents([]conntrack.EventType{conntrack.EventNew}, nl.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close()
	release, held := make(chan struct{}), make(chan struct{})
	once := false
	reg, err := p.Add(blocker, func(b *poller.Batch) {
		if !once && len(b.Messages) > 0 {
			once = true
			close(held)
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Remove()

	burst := make([]conntrack.Flow, 3000)
	for i := range burst {
		burst[i] = udp("10.3.0.1", fmt.Sprintf("10.4.%d.%d", i/250, i%250+1), 6000, 53)
	}
	if err := conntrack.Create(ctx, c, burst[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking handler got no event")
	}
	if err := conntrack.CreateFlows(ctx, c, burst[1:]); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := conntrack.Delete(ctx, c, burst[7]); err != nil {
		t.Fatal(err)
	}
	waitSame(t, tb, c, conntrack.Filter{})
	if tb.Len() != len(burst)-1 {
		t.Fatalf("%d flows, want %d", tb.Len(), len(burst)-1)
	}
	if st := tb.Stats(); st.Overruns == 0 || st.Resyncs < 2 {
		t.Fatalf("stats %+v: want an overrun and its two resyncs", st)
	}
	t.Logf("stats %+v", tb.Stats())
}

// TestTableResyncSeesFlowsWithoutEvents records the kernel behaviour that
// Table documents: with nf_conntrack_events at 2 (the default), a flow
// made while nothing listened sends no DESTROY; a Resync corrects the
// table.
func TestTableResyncSeesFlowsWithoutEvents(t *testing.T) {
	ns := nstest.New(t)
	sysctl(t, ns, "nf_conntrack_events", "2")
	c := dial(t, ns)
	ctx := testCtx(t)
	old := testFlows()[0]
	if err := conntrack.Create(ctx, c, old); err != nil {
		t.Fatal(err)
	}
	tb := watchTable(t, nil, ns, conntrack.Filter{}, 0)
	if _, ok := tb.Get(old.Key()); !ok {
		t.Fatal("the first dump missed a flow")
	}
	if err := conntrack.Delete(ctx, c, old); err != nil {
		t.Fatal(err)
	}
	// A flow made now has events: its NEW event arrives after any DESTROY
	// the kernel would have sent for the old one.
	young := testFlows()[1]
	if err := conntrack.Create(ctx, c, young); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		changed := tb.Changed()
		if _, ok := tb.Get(young.Key()); ok {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("no NEW event for a flow made while the table listens")
		}
	}
	if _, ok := tb.Get(old.Key()); !ok {
		t.Fatal("the kernel sent a DESTROY for a flow made before any listener: Table's documentation is out of date")
	}
	tb.Resync()
	waitSame(t, tb, c, conntrack.Filter{})
	if st := tb.Stats(); st.Resyncs != 1 || st.Overruns != 0 {
		t.Fatalf("stats %+v: want one resync and no overrun", st)
	}
}
