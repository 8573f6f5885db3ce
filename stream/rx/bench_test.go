package rx_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/rx"
)

// route is the 64-byte value of the operators benchmarks (no pointers).
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

var benchRoutes = func() []route {
	rs := make([]route, benchItems)
	for i := range rs {
		rs[i] = route{Family: 2, DstLen: uint8(24 + i%9), Protocol: 4, Type: uint16(1 + i%2), Table: 254, OIF: uint32(i % 7)}
		rs[i].Dst = [16]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
	}
	return rs
}()

// The pipeline: keep the unicast routes (every other one), take their IPv4
// destination as a uint32.
func keep(r route) bool    { return r.Type == 1 }
func dstOf(r route) uint32 { return binary.BigEndian.Uint32(r.Dst[:4]) }

func report(b *testing.B, cpu0 time.Duration, n int) {
	if n != benchItems/2 {
		b.Fatalf("collected %d items, want %d", n, benchItems/2)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchItems, "ns/item")
	if cpu := processCPU() - cpu0; cpu0 > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/benchItems, "cpu-ns/item")
	}
}

func typedPipeline() stream.Observable[uint32] {
	return operators.Map(operators.Filter(stream.FromSlice(benchRoutes), keep), dstOf)
}

// BenchmarkTyped is the pipeline in the typed core alone (reference).
func BenchmarkTyped(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	pipe := typedPipeline()
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out, _ = stream.AppendTo(context.Background(), out[:0], pipe)
	}
	report(b, cpu0, len(out))
}

// BenchmarkToRxBatched: Filter → Map in the typed core, then ToRxBatched;
// the rxgo consumer ranges over Observe and appends each batch.
func BenchmarkToRxBatched(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		out = out[:0]
		for it := range rx.ToRxBatched(ctx, typedPipeline()).Observe() {
			out = append(out, it.V.([]uint32)...)
		}
		cancel()
	}
	report(b, cpu0, len(out))
}

// BenchmarkToRxBatchedBuffered is ToRxBatched with rxgo's channel buffered
// to 64 batches, so that the producer rarely waits for the consumer.
func BenchmarkToRxBatchedBuffered(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		out = out[:0]
		for it := range rx.ToRxBatched(ctx, typedPipeline(), rxgo.WithBufferedChannel(64)).Observe() {
			out = append(out, it.V.([]uint32)...)
		}
		cancel()
	}
	report(b, cpu0, len(out))
}

// The pipeline as one MapBatch batch function (filter and map inlined in
// its loop).
func keepDsts(dst []uint32, src []route) []uint32 {
	for i := range src {
		if keep(src[i]) {
			dst = append(dst, dstOf(src[i]))
		}
	}
	return dst
}

// BenchmarkTypedMapBatch is the typed pipeline written with MapBatch.
func BenchmarkTypedMapBatch(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	pipe := operators.MapBatch(stream.FromSlice(benchRoutes), keepDsts)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out, _ = stream.AppendTo(context.Background(), out[:0], pipe)
	}
	report(b, cpu0, len(out))
}

// BenchmarkToRxBatchedMapBatch is MapBatch → ToRxBatched → rxgo consumer.
func BenchmarkToRxBatchedMapBatch(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		out = out[:0]
		for it := range rx.ToRxBatched(ctx, operators.MapBatch(stream.FromSlice(benchRoutes), keepDsts)).Observe() {
			out = append(out, it.V.([]uint32)...)
		}
		cancel()
	}
	report(b, cpu0, len(out))
}

// BenchmarkToRx: the same with one rxgo item per route (rxgo channel
// buffered to 1024).
func BenchmarkToRx(b *testing.B) {
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		out = out[:0]
		for it := range rx.ToRx(ctx, typedPipeline(), rxgo.WithBufferedChannel(1024)).Observe() {
			out = append(out, it.V.(uint32))
		}
		cancel()
	}
	report(b, cpu0, len(out))
}

// rxgoPipeline is the whole pipeline in rxgo v2.5.0: a producer, Filter and
// Map, with the given options on each.
func rxgoPipeline(opts ...rxgo.Option) rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
		for i := range benchRoutes {
			next <- rxgo.Of(benchRoutes[i])
		}
	}}, opts...).
		Filter(func(v any) bool { return keep(v.(route)) }, opts...).
		Map(func(_ context.Context, v any) (any, error) { return dstOf(v.(route)), nil }, opts...)
}

// BenchmarkRxgoAlone is rxgo with its default options (unbuffered channels).
func BenchmarkRxgoAlone(b *testing.B) {
	benchRxgo(b)
}

// BenchmarkRxgoAloneBuffered is rxgo with WithBufferedChannel(1024) on
// every stage, its faster setting.
func BenchmarkRxgoAloneBuffered(b *testing.B) {
	benchRxgo(b, rxgo.WithBufferedChannel(1024))
}

func benchRxgo(b *testing.B, opts ...rxgo.Option) {
	out := make([]uint32, 0, benchItems/2)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		out = out[:0]
		for it := range rxgoPipeline(opts...).Observe() {
			out = append(out, it.V.(uint32))
		}
	}
	report(b, cpu0, len(out))
}
