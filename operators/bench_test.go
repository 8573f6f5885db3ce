package operators_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/rx"
)

// route is a route-sized value (64 bytes, no pointers), like a decoded
// rtnetlink route with its addresses as 16-byte arrays.
type route struct {
	Family   uint8
	DstLen   uint8
	Protocol uint8
	Scope    uint8
	Type     uint16
	Flags    uint16
	Table    uint32
	OIF      uint32
	Priority uint32
	Metric   uint32
	Mark     uint32
	Pref     uint8
	_        [3]byte
	Dst      [16]byte
	Gateway  [16]byte
}

const benchItems = 1_000_000

func makeRoutes(n int) []route {
	rs := make([]route, n)
	for i := range rs {
		rs[i] = route{Family: 2, DstLen: uint8(24 + i%9), Protocol: 4, Type: uint16(1 + i%2), Table: 254, OIF: uint32(i % 7)}
		rs[i].Dst = [16]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		rs[i].Gateway = [16]byte{192, 0, 2, 1}
	}
	return rs
}

var benchRoutes = makeRoutes(benchItems)

// The pipeline under test: keep the unicast routes (every other one) and
// take their IPv4 destination as a uint32.
func keep(r route) bool    { return r.Type == 1 }
func dstOf(r route) uint32 { return binary.BigEndian.Uint32(r.Dst[:4]) }
func prefixOf(r route) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte(r.Dst[:4])), int(r.DstLen))
}

var keepFn, dstFn, prefixFn = keep, dstOf, prefixOf // opaque to the inliner

// perItem reports wall and CPU time per input item; cpu0 is processCPU()
// read just before the timed loop.
func perItem(b *testing.B, cpu0 time.Duration) { report(b, cpu0, benchItems) }

func report(b *testing.B, cpu0 time.Duration, items int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(items), "ns/item")
	if cpu := processCPU() - cpu0; cpu0 > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(items), "cpu-ns/item")
	}
}

// BenchmarkFilterMapCollect: FromSlice → Filter → Map → AppendTo a presized
// slice; 1M routes per op, 500k kept.
func BenchmarkFilterMapCollect(b *testing.B) {
	ctx := context.Background()
	out := make([]uint32, 0, benchItems/2)
	pipe := operators.Map(operators.Filter(stream.FromSlice(benchRoutes), keep), dstOf)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		var err error
		out, err = stream.AppendTo(ctx, out[:0], pipe)
		if err != nil || len(out) != benchItems/2 {
			b.Fatal(err, len(out))
		}
	}
	perItem(b, cpu0)
}

// keepDsts is the pipeline as one batch function for MapBatch: the loop is
// in user code, so keep and dstOf are inlined into it.
func keepDsts(dst []uint32, src []route) []uint32 {
	for i := range src {
		if keep(src[i]) {
			dst = append(dst, dstOf(src[i]))
		}
	}
	return dst
}

// BenchmarkMapBatchCollect is the same pipeline written with MapBatch
// (filter and map in one batch function) → AppendTo.
func BenchmarkMapBatchCollect(b *testing.B) {
	ctx := context.Background()
	out := make([]uint32, 0, benchItems/2)
	pipe := operators.MapBatch(stream.FromSlice(benchRoutes), keepDsts)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		var err error
		out, err = stream.AppendTo(ctx, out[:0], pipe)
		if err != nil || len(out) != benchItems/2 {
			b.Fatal(err, len(out))
		}
	}
	perItem(b, cpu0)
}

// BenchmarkFilterMapCollectLoop is the same work as a hand-written loop,
// where the compiler inlines the predicate and the mapping.
func BenchmarkFilterMapCollectLoop(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out = out[:0]
		for i := range benchRoutes {
			if keep(benchRoutes[i]) {
				out = append(out, dstOf(benchRoutes[i]))
			}
		}
		if len(out) != benchItems/2 {
			b.Fatal(len(out))
		}
	}
	perItem(b, cpu0)
}

// BenchmarkFilterMapCollectFuncLoop is the loop calling the two functions
// through func values, as any operator library must: the floor for one.
func BenchmarkFilterMapCollectFuncLoop(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out = out[:0]
		p, f := keepFn, dstFn
		for i := range benchRoutes {
			if p(benchRoutes[i]) {
				out = append(out, f(benchRoutes[i]))
			}
		}
		if len(out) != benchItems/2 {
			b.Fatal(len(out))
		}
	}
	perItem(b, cpu0)
}

// BenchmarkFilterMapCollectPerItem is the pipeline fed one item per call
// (Next), as by FromSeq or FromExecute, instead of in batches.
func BenchmarkFilterMapCollectPerItem(b *testing.B) {
	ctx := context.Background()
	out := make([]uint32, 0, benchItems/2)
	src := stream.Create(func(ctx context.Context, o stream.Observer[route]) error {
		for i := range benchRoutes {
			if err := o.Next(benchRoutes[i]); err != nil {
				return err
			}
		}
		return nil
	})
	pipe := operators.Map(operators.Filter(src, keep), dstOf)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out, _ = stream.AppendTo(ctx, out[:0], pipe)
	}
	perItem(b, cpu0)
}

// BenchmarkFilterMapCollectPrefix maps to a netip.Prefix (32 bytes, with a
// pointer) instead of a uint32: more bytes to write and collect, and write
// barriers while the GC runs.
func BenchmarkFilterMapCollectPrefix(b *testing.B) {
	ctx := context.Background()
	out := make([]netip.Prefix, 0, benchItems/2)
	pipe := operators.Map(operators.Filter(stream.FromSlice(benchRoutes), keep), prefixOf)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out, _ = stream.AppendTo(ctx, out[:0], pipe)
	}
	perItem(b, cpu0)
}

func BenchmarkFilterMapCollectPrefixFuncLoop(b *testing.B) {
	out := make([]netip.Prefix, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out = out[:0]
		p, f := keepFn, prefixFn
		for i := range benchRoutes {
			if p(benchRoutes[i]) {
				out = append(out, f(benchRoutes[i]))
			}
		}
	}
	perItem(b, cpu0)
}

// BenchmarkMerge8: 8 sources of 125k routes → Merge → Filter → Map →
// AppendTo; each source runs on its own goroutine (the first on the
// subscriber's), deliveries serialised by Merge's mutex a batch at a time.
func BenchmarkMerge8(b *testing.B) {
	ctx := context.Background()
	const k = 8
	var srcs []stream.Observable[route]
	for i := range k {
		srcs = append(srcs, stream.FromSlice(benchRoutes[i*benchItems/k:(i+1)*benchItems/k]))
	}
	out := make([]uint32, 0, benchItems/2)
	pipe := operators.Map(operators.Filter(operators.Merge(srcs...), keep), dstOf)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		var err error
		out, err = stream.AppendTo(ctx, out[:0], pipe)
		if err != nil || len(out) != benchItems/2 {
			b.Fatal(err, len(out))
		}
	}
	perItem(b, cpu0)
}

// BenchmarkMerge8PerSourcePipeline filters and maps in each source before
// merging (Merge of 8 Filter→Map pipelines), so the work runs in parallel
// and only kept items cross the lock.
func BenchmarkMerge8PerSourcePipeline(b *testing.B) {
	ctx := context.Background()
	const k = 8
	var srcs []stream.Observable[uint32]
	for i := range k {
		s := stream.FromSlice(benchRoutes[i*benchItems/k : (i+1)*benchItems/k])
		srcs = append(srcs, operators.Map(operators.Filter(s, keep), dstOf))
	}
	out := make([]uint32, 0, benchItems/2)
	pipe := operators.Merge(srcs...)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out, _ = stream.AppendTo(ctx, out[:0], pipe)
	}
	perItem(b, cpu0)
}

// BenchmarkPublisherInline: a producer pushing batches of 256 into a
// Publisher whose one inline subscriber runs Filter → Map → collect on the
// producer's goroutine (the poller's path).
func BenchmarkPublisherInline(b *testing.B) {
	benchPublisher(b, nil)
}

// BenchmarkPublisherBuffered is the same with the subscriber behind a
// queue of 4096 items (Block), on its own goroutine.
func BenchmarkPublisherBuffered(b *testing.B) {
	benchPublisher(b, []stream.SubscribeOption{stream.WithBuffer(4096, stream.Block)})
}

func benchPublisher(b *testing.B, opts []stream.SubscribeOption) {
	ctx := context.Background()
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		pub := stream.NewPublisher[route]()
		pipe := operators.Map(operators.Filter(pub.Observable(opts...), keep), dstOf)
		done := make(chan error, 1)
		go func() {
			var err error
			out, err = stream.AppendTo(ctx, out[:0], pipe)
			done <- err
		}()
		pub.WaitSubscribers(ctx, 1)
		for i := 0; i < benchItems; i += stream.BatchSize {
			pub.PushBatch(benchRoutes[i:min(i+stream.BatchSize, benchItems)])
		}
		pub.Complete()
		if err := <-done; err != nil || len(out) != benchItems/2 {
			b.Fatal(err, len(out))
		}
	}
	perItem(b, cpu0)
}

// cachedRoutes is 16,384 routes (1 MiB), small enough to stay in L2: the
// L2 benchmarks replay it 64 times (1,048,576 items per op), so that they
// show the per-item cost of the pipeline rather than of main memory.
var cachedRoutes = makeRoutes(1 << 14)

const cachedItems = 1 << 20

func perCachedItem(b *testing.B, cpu0 time.Duration) { report(b, cpu0, cachedItems) }

func BenchmarkFilterMapCollectL2(b *testing.B) {
	ctx := context.Background()
	out := make([]uint32, 0, len(cachedRoutes)/2)
	pipe := operators.Map(operators.Filter(stream.FromSlice(cachedRoutes), keep), dstOf)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		for range cachedItems / len(cachedRoutes) {
			out, _ = stream.AppendTo(ctx, out[:0], pipe)
		}
	}
	perCachedItem(b, cpu0)
}

func BenchmarkFilterMapCollectL2Loop(b *testing.B) {
	out := make([]uint32, 0, len(cachedRoutes)/2)
	cpu0 := processCPU()
	for b.Loop() {
		for range cachedItems / len(cachedRoutes) {
			out = out[:0]
			for i := range cachedRoutes {
				if keep(cachedRoutes[i]) {
					out = append(out, dstOf(cachedRoutes[i]))
				}
			}
		}
	}
	perCachedItem(b, cpu0)
}

func BenchmarkFilterMapCollectL2FuncLoop(b *testing.B) {
	out := make([]uint32, 0, len(cachedRoutes)/2)
	cpu0 := processCPU()
	for b.Loop() {
		p, f := keepFn, dstFn
		for range cachedItems / len(cachedRoutes) {
			out = out[:0]
			for i := range cachedRoutes {
				if p(cachedRoutes[i]) {
					out = append(out, f(cachedRoutes[i]))
				}
			}
		}
	}
	perCachedItem(b, cpu0)
}

// takeKept is the number of kept routes Filter → Map → Take lets through:
// all of them, so that Take's limit falls on the last kept route, one item
// before the end of the source (early completion on the last batch).
const takeKept = benchItems / 2

// BenchmarkFilterMapTakeCollect: FromSlice → Filter → Map → Take →
// AppendTo; Take stops the source at its last item.
func BenchmarkFilterMapTakeCollect(b *testing.B) {
	ctx := context.Background()
	out := make([]uint32, 0, benchItems/2)
	pipe := operators.Take(operators.Map(operators.Filter(stream.FromSlice(benchRoutes), keep), dstOf), takeKept)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		var err error
		out, err = stream.AppendTo(ctx, out[:0], pipe)
		if err != nil || len(out) != takeKept {
			b.Fatal(err, len(out))
		}
	}
	perItem(b, cpu0)
}

// BenchmarkFilterMapTakeCollectLoop is that pipeline as a hand-written loop
// with a counter.
func BenchmarkFilterMapTakeCollectLoop(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out = out[:0]
		for i := range benchRoutes {
			if keep(benchRoutes[i]) {
				out = append(out, dstOf(benchRoutes[i]))
				if len(out) == takeKept {
					break
				}
			}
		}
		if len(out) != takeKept {
			b.Fatal(len(out))
		}
	}
	perItem(b, cpu0)
}

// BenchmarkToRxBatched: Filter → Map, then the rxgo bridge rx.ToRxBatched;
// the rxgo consumer ranges over Observe and appends each []uint32 batch.
// The same pipeline as stream/rx's BenchmarkToRxBatched, here so that its
// ratio to the loop comes from the same run.
func BenchmarkToRxBatched(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	pipe := operators.Map(operators.Filter(stream.FromSlice(benchRoutes), keep), dstOf)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		out = out[:0]
		for it := range rx.ToRxBatched(ctx, pipe).Observe() {
			out = append(out, it.V.([]uint32)...)
		}
		cancel()
		if len(out) != benchItems/2 {
			b.Fatal(len(out))
		}
	}
	perItem(b, cpu0)
}
