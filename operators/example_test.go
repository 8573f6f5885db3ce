package operators_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
)

// Filter, Map and collection into a presized slice: the pipeline runs
// inline, a batch at a time, and allocates nothing per item.
func Example() {
	type route struct {
		Table uint32
		Dst   string
	}
	routes := stream.Just(
		route{254, "10.0.0.0/8"}, route{255, "127.0.0.0/8"}, route{254, "192.0.2.0/24"},
	)
	main := operators.Filter(routes, func(r route) bool { return r.Table == 254 })
	dsts := operators.Map(main, func(r route) string { return r.Dst })
	out, err := stream.AppendTo(context.Background(), make([]string, 0, 8), dsts)
	fmt.Println(out, err)
	// Output: [10.0.0.0/8 192.0.2.0/24] <nil>
}

// The netlink multipart rule on a raw stream of replies: everything up to
// and including NLMSG_DONE, then the kernel's verdict carried by DONE.
func ExampleCollectUntilDone() {
	errno := func(e int32) []byte { return binary.NativeEndian.AppendUint32(nil, uint32(-e)) }
	replies := stream.Just(
		nl.Message{Header: nl.Header{Type: 24, Flags: nl.FlagMulti}, Data: []byte{2}},
		nl.Message{Header: nl.Header{Type: 24, Flags: nl.FlagMulti}, Data: []byte{2}},
		nl.Message{Header: nl.Header{Type: nl.TypeDone, Flags: nl.FlagMulti}, Data: errno(0)},
		nl.Message{Header: nl.Header{Type: 24}, Data: []byte{2}}, // not part of this reply
	)
	ms, err := operators.CollectUntilDone(context.Background(), replies)
	fmt.Println(len(ms), ms[len(ms)-1].Header.Type == nl.TypeDone, err)

	failed := stream.Just(nl.Message{Header: nl.Header{Type: nl.TypeDone, Flags: nl.FlagMulti}, Data: errno(4)})
	_, err = operators.CollectUntilDone(context.Background(), failed)
	fmt.Println(err)
	// Output:
	// 3 true <nil>
	// nl: interrupted system call
}

// Decode with a decoder that can fail, dropping and counting bad items
// instead of failing the stream.
func ExampleDecode() {
	var bad atomic.Uint64
	nums := operators.Decode(stream.Just("1", "two", "3"), strconv.Atoi, operators.DropInvalid(&bad))
	got, err := stream.Collect(context.Background(), nums)
	fmt.Println(got, err, bad.Load())
	// Output: [1 3] <nil> 1
}

// One pipeline per key: here the sum of each interface's counters.
func ExampleGroupBy() {
	type sample struct{ ifindex, bytes int }
	src := stream.Just(sample{1, 100}, sample{2, 5}, sample{1, 50}, sample{2, 7})
	sums := operators.GroupBy(src, func(s sample) int { return s.ifindex },
		func(ifindex int, g stream.Observable[sample]) stream.Observable[string] {
			total := operators.Reduce(g, 0, func(acc int, s sample) int { return acc + s.bytes })
			return operators.Map(total, func(n int) string { return fmt.Sprintf("if%d=%d", ifindex, n) })
		})
	got, _ := stream.Collect(context.Background(), sums)
	sort.Strings(got) // groups end concurrently
	fmt.Println(got)
	// Output: [if1=150 if2=12]
}

// Report each change of link state once.
func ExampleDistinctUntilChanged() {
	states := stream.Just("up", "up", "down", "down", "up")
	changes := operators.DistinctUntilChanged(states, func(s string) string { return s })
	got, _ := stream.Collect(context.Background(), changes)
	fmt.Println(got)
	// Output: [up down up]
}

// Merge two sources; each keeps its own order.
func ExampleMerge() {
	v4 := stream.Just("10.0.0.0/8", "192.0.2.0/24")
	v6 := stream.Just("2001:db8::/32")
	got, _ := stream.Collect(context.Background(), operators.Merge(v4, v6))
	sort.Strings(got)
	fmt.Println(got)
	// Output: [10.0.0.0/8 192.0.2.0/24 2001:db8::/32]
}

// Slices of up to three items; the last one is shorter.
func ExampleBufferCount() {
	got, _ := stream.Collect(context.Background(), operators.BufferCount(stream.Just(1, 2, 3, 4, 5), 3))
	fmt.Println(got)
	// Output: [[1 2 3] [4 5]]
}

// Stop at the first item that matches, and include it.
func ExampleTakeUntil() {
	got, _ := stream.Collect(context.Background(), operators.TakeUntil(stream.Just(1, 2, 3, 4), func(v int) bool { return v == 3 }))
	fmt.Println(got)
	// Output: [1 2 3]
}

// Filter and map in one batch function: the loop is the caller's, so the
// compiler inlines the per-item work, as in a hand-written loop.
func ExampleMapBatch() {
	type route struct {
		Table uint32
		Dst   string
	}
	mainDsts := func(dst []string, src []route) []string {
		for _, r := range src {
			if r.Table == 254 {
				dst = append(dst, r.Dst)
			}
		}
		return dst
	}
	routes := stream.Just(route{254, "10.0.0.0/8"}, route{255, "127.0.0.0/8"}, route{254, "192.0.2.0/24"})
	got, err := stream.Collect(context.Background(), operators.MapBatch(routes, mainDsts))
	fmt.Println(got, err)
	// Output: [10.0.0.0/8 192.0.2.0/24] <nil>
}
