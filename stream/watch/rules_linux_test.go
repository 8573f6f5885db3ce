//go:build linux

package watch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
)

// ipRules returns ip -j rule show of both families (or of fam), each rule
// as its JSON object with sorted keys, sorted: a multiset.
func ipRules(t *testing.T, ns *nstest.NS, fam rtnl.Family) []string {
	t.Helper()
	var out []string
	for _, f := range []rtnl.Family{rtnl.FamilyInet, rtnl.FamilyInet6} {
		if fam != rtnl.FamilyAll && fam != f {
			continue
		}
		opt := map[rtnl.Family]string{rtnl.FamilyInet: "-4", rtnl.FamilyInet6: "-6"}[f]
		b, err := ns.Cmd("ip", "-j", opt, "rule", "show").Output()
		if err != nil {
			t.Fatalf("ip -j %s rule show: %v", opt, err)
		}
		var objs []map[string]any
		if err := json.Unmarshal(b, &objs); err != nil {
			t.Fatalf("ip -j %s rule show: %v: %s", opt, err, b)
		}
		for _, o := range objs {
			k, _ := json.Marshal(o) // sorted keys
			out = append(out, f.String()+" "+string(k))
		}
	}
	slices.Sort(out)
	return out
}

// tableRules returns the watcher's rules in the form of ipRules.
func tableRules(t *testing.T, w *watch.RuleWatcher) []string {
	t.Helper()
	var out []string
	for _, r := range w.Table().Values() {
		b, _ := json.Marshal(r)
		var o map[string]any
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		k, _ := json.Marshal(o)
		out = append(out, r.Family.String()+" "+string(k))
	}
	slices.Sort(out)
	return out
}

// sameRules waits until the watcher's rules equal ip's as multisets.
func sameRules(t *testing.T, ns *nstest.NS, w *watch.RuleWatcher, r *recorder[rtnl.Rule], fam rtnl.Family, step string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		want, got := ipRules(t, ns, fam), tableRules(t, w)
		if slices.Equal(want, got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s:\nip:\n  %s\nwatcher:\n  %s", step, strings.Join(want, "\n  "), strings.Join(got, "\n  "))
		}
		r.waitChange(t, 50*time.Millisecond)
	}
}

func newRuleWatcher(t *testing.T, ns *nstest.NS, opts ...watch.Option) *watch.RuleWatcher {
	t.Helper()
	w, err := watch.Rules(append([]watch.Option{watch.WithNetNS(ns.Path())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// The rule watcher equals ip rule show, both families, after each step:
// rules of many shapes, identical copies (added without NLM_F_EXCL, before
// the watcher starts and while it runs), goto rules resolved and
// unresolved by the rules at their target, rules detached and attached by
// their devices coming, being renamed and going (a rule that names an
// alternative name included), the default rules
// deleted and added back. Two verifications at the end find nothing to
// repair: the watcher followed the kernel by its own rules.
func TestRulesFollowIPRule(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	dup := rtnl.Rule{Priority: 90, Src: prefix("10.90.0.0/16"), Table: 90}
	for range 2 {
		if err := rtnl.AddDuplicateRule(ctx, c, dup); err != nil {
			t.Fatal(err)
		}
	}
	ns.IP("rule", "add", "pref", "91", "iif", "v0", "table", "91")
	ns.IP("rule", "add", "pref", "92", "goto", "95") // unresolved until a rule at 95 comes
	w := newRuleWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Rule](watch.SnapshotComplete, nil))
	sameRules(t, ns, w, r, rtnl.FamilyAll, "the snapshot")
	if n := len(w.Table().Values()); n != 9 {
		t.Errorf("snapshot: %d rules, want 9 (5 default, 2 copies, 2)", n)
	}
	addDup := func(r rtnl.Rule) func() {
		return func() {
			if err := rtnl.AddDuplicateRule(ctx, c, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, step := range []struct {
		ip string
		fn func()
	}{
		{ip: "rule add pref 95 table 95"}, // resolves the goto from before the snapshot
		{ip: "rule del pref 95"},
		{ip: "rule add pref 100 from 10.0.0.0/8 table 10"},
		{ip: "-6 rule add pref 100 from 2001:db8::/32 table 10"},
		{ip: "dup 100", fn: addDup(rtnl.Rule{Priority: 100, Src: prefix("10.0.0.0/8"), Table: 10})},
		{ip: "dup 100 again", fn: addDup(rtnl.Rule{Priority: 100, Src: prefix("10.0.0.0/8"), Table: 10})},
		{ip: "dup -6 100", fn: addDup(rtnl.Rule{Priority: 100, Src: prefix("2001:db8::/32"), Table: 10})},
		{ip: "rule del pref 100 from 10.0.0.0/8 table 10"},
		{ip: "rule del pref 90"},
		{ip: "rule add pref 101 goto 150"},
		{ip: "rule add pref 150 table 15"},
		{ip: "rule add pref 150 nop"},
		{ip: "rule del pref 150 table 15"},
		{ip: "rule del pref 150"},
		{ip: "-6 rule add pref 102 goto 32766"},
		{ip: "-6 rule del pref 32766"},
		{ip: "-6 rule add pref 32766 table main"},
		{ip: "rule add pref 103 iif v9 oif v8 table 13"},
		{ip: "link add v9 type veth peer name v8"},
		{ip: "link set v9 name v7"},
		{ip: "link set v7 name v9"},
		{ip: "link del v9"},
		{ip: "link property add dev v0 altname alt0"},
		{ip: "rule add pref 107 iif alt0 oif alt0 table 17"}, // attached through the alternative name
		{ip: "link set v0 name v5"},                          // detaches it, and the rules naming v0
		{ip: "link set v5 name v0"},                          // attaches those naming v0 only
		{ip: "link property del dev v0 altname alt0"},
		{ip: "rule add pref 104 not fwmark 0x1/0xf uidrange 0-0 ipproto udp dport 53 table 14 proto static"},
		{ip: "-6 rule add pref 104 to 2001:db8:1::/48 tos 0x20 prohibit"},
		{ip: "rule add pref 105 l3mdev"},
		{ip: "rule add pref 106 table main suppress_prefixlength 0"},
		{ip: "rule del pref 0"},
		{ip: "rule add pref 0 table local"},
		{ip: "-6 rule flush"},
		{ip: "-6 rule add pref 32766 table main"},
	} {
		if step.fn != nil {
			step.fn()
		} else {
			ns.IP(strings.Fields(step.ip)...)
		}
		sameRules(t, ns, w, r, rtnl.FamilyAll, step.ip)
	}
	changes := len(r.snapshot())
	for range 2 {
		if err := w.Resync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st := w.Stats(); st.Repairs != 0 || st.Collisions != 0 || st.Overruns != 0 {
		t.Errorf("stats %+v: want no repair, collision or overrun", st)
	}
	for _, e := range r.snapshot()[changes:] {
		if e.IsChange() {
			t.Errorf("a verification changed the table: %v %v", e.Kind, &e.Value)
		}
	}
}

// WithFamily keeps one family's rules; Close releases every descriptor.
func TestRulesWithFamily(t *testing.T) {
	ns := nstest.New(t)
	ns.IP("-6", "rule", "add", "pref", "5", "table", "5")
	before := nstest.OpenFDs(t)
	w := newRuleWatcher(t, ns, watch.WithFamily(rtnl.FamilyInet6))
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Rule](watch.SnapshotComplete, nil))
	ns.IP("rule", "add", "pref", "6", "table", "6")
	ns.IP("-6", "rule", "add", "pref", "7", "table", "7")
	r.waitFor(t, "the IPv6 rule", has(watch.Added, func(r rtnl.Rule) bool { return r.Priority == 7 }))
	sameRules(t, ns, w, r, rtnl.FamilyInet6, "IPv4 and IPv6 adds")
	for _, e := range r.snapshot() {
		if e.IsChange() && e.Value.Family != rtnl.FamilyInet6 {
			t.Errorf("an event of another family: %v %v", e.Kind, &e.Value)
		}
	}
	w.Close()
	select {
	case <-w.Done():
	case <-time.After(wait):
		t.Fatal("the watcher did not finish closing")
	}
	if after := nstest.OpenFDs(t); after != before {
		t.Errorf("%d descriptors open after Close, %d before", after, before)
	}
}

// After an overrun (a 4 KiB buffer and a stalled subscriber while
// hundreds of rules come and go), the resync leaves the table equal to
// ip's, duplicates included.
func TestRulesResyncAfterOverrunConverges(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	lines := func(verb string, from, n int) []string {
		var out []string
		for i := from; i < from+n; i++ {
			out = append(out, fmt.Sprintf("rule %s pref %d from 10.%d.%d.0/24 table %d", verb, 1000+i, i/256, i%256, 100+i%7))
		}
		return out
	}
	ns.Batch(lines("add", 0, 200))
	w := newRuleWatcher(t, ns, watch.WithReadBuffer(4096))
	gate := make(chan struct{})
	r := record(t, w, gate)
	r.waitFor(t, "the snapshot", has[rtnl.Rule](watch.SnapshotComplete, nil))

	ns.IP("rule", "add", "pref", "500", "table", "5") // the subscriber stalls on this one
	r.waitFor(t, "the stalled event", has(watch.Added, func(r rtnl.Rule) bool { return r.Priority == 500 }))
	ns.Batch(lines("del", 0, 100))
	ns.Batch(lines("add", 300, 300))
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for range 3 {
		if err := rtnl.AddDuplicateRule(ctx, c, rtnl.Rule{Priority: 1300, Src: prefix("10.1.44.0/24"), Table: 100 + 300%7}); err != nil {
			t.Fatal(err)
		}
	}
	ns.IP("-6", "rule", "add", "pref", "501", "goto", "502")
	close(gate)
	r.waitFor(t, "the resync", has[rtnl.Rule](watch.ResyncComplete, nil))
	ns.IP("rule", "add", "pref", "503", "table", "5")
	r.waitFor(t, "the sentinel", has(watch.Added, func(r rtnl.Rule) bool { return r.Priority == 503 }))
	if st := w.Stats(); st.Overruns == 0 || st.Resyncs == 0 {
		t.Fatalf("no overrun with a 4 KiB buffer and a stalled subscriber: %+v", st)
	}
	sameRules(t, ns, w, r, rtnl.FamilyAll, "the resync")
}

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// Two random sequences of rule and link changes, in both families: rules of a
// few shapes at a few priorities added with ip (which refuses what exists)
// and as duplicates, deleted as a whole or by priority alone, goto rules
// and their targets, devices named by rules coming, going and renamed.
// After each change the watcher equals ip; at the end two verifications
// change nothing.
func TestRulesFollowRandomChanges(t *testing.T) {
	for seed := range uint64(2) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 14))
			ns := nstest.New(t)
			c := ns.Dial()
			ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
			defer cancel()
			w := newRuleWatcher(t, ns)
			r := record(t, w, nil)
			r.waitFor(t, "the snapshot", has[rtnl.Rule](watch.SnapshotComplete, nil))
			pick := func(s ...string) string { return s[rng.IntN(len(s))] }
			devs := []string{"d0", "d1", "d2"}
			for i := range 60 {
				fam := pick("-4", "-6")
				pref := 100 + rng.IntN(5)
				var step string
				switch op := rng.IntN(10); {
				case op < 4:
					sel := pick("", "iif "+pick(devs...), "oif "+pick(devs...), "fwmark 0x3", "not fwmark 0x3", "ipproto tcp")
					if rng.IntN(2) == 0 {
						sel += " " + map[string]string{"-4": "from 10.0.0.0/8", "-6": "from 2001:db8::/32"}[fam]
					}
					act := pick("table 10", "table 11", "goto "+fmt.Sprint(pref+1+rng.IntN(3)), "nop", "blackhole")
					step = fmt.Sprintf("%s rule add pref %d %s %s", fam, pref, sel, act)
					ns.TryIP(strings.Fields(step)...) // EEXIST is part of the game
				case op < 6:
					rules, err := rtnl.ListRules(ctx, c, rtnl.RuleFilter{})
					if err != nil {
						t.Fatal(err)
					}
					x := rules[rng.IntN(len(rules))]
					if x.Family != rtnl.FamilyInet && x.Family != rtnl.FamilyInet6 {
						continue
					}
					if op == 4 {
						step = "duplicate " + x.String()
						if err := rtnl.AddDuplicateRule(ctx, c, x); err != nil {
							t.Fatalf("%s: %v", step, err)
						}
					} else {
						step = "delete " + x.String()
						if err := rtnl.DeleteRule(ctx, c, x); err != nil {
							t.Fatalf("%s: %v", step, err)
						}
					}
				case op < 7:
					step = fmt.Sprintf("%s rule del pref %d", fam, pref)
					ns.TryIP(strings.Fields(step)...)
				default:
					d := pick(devs...)
					if _, err := ns.TryIP("link", "show", d); err != nil {
						step = "link add " + d + " type veth peer name p" + d
					} else {
						step = pick("link del "+d, "link set "+d+" name "+pick(devs...))
					}
					ns.TryIP(strings.Fields(step)...)
				}
				sameRules(t, ns, w, r, rtnl.FamilyAll, fmt.Sprintf("step %d: %s", i, step))
			}
			changes := len(r.snapshot())
			for range 2 {
				if err := w.Resync(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for _, e := range r.snapshot()[changes:] {
				if e.IsChange() {
					t.Errorf("a verification changed the table: %v %v", e.Kind, &e.Value)
				}
			}
			st := w.Stats()
			if st.Repairs != 0 || st.Collisions != 0 {
				t.Errorf("stats %+v", st)
			}
			t.Logf("%d rules at the end; %d added, %d changed, %d deleted", w.Table().Len(), st.Added, st.Changed, st.Deleted)
		})
	}
}
