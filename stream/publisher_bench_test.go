package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/nlrx/nlrx/stream"
)

// counter is the cheapest Observer: it counts what it receives. Its
// counts are read only after its Subscribe has returned.
type counter struct{ n, calls int }

func (c *counter) Next(int) error { c.n++; c.calls++; return nil }
func (c *counter) NextBatch(items []int) error {
	c.n += len(items)
	c.calls++
	return nil
}
func (c *counter) Gap(stream.Gap) error { return nil }

// benchAttach attaches subs counters to a new Publisher with opts and
// returns it with a function that completes it and checks that every
// counter saw want items.
func benchAttach(b *testing.B, subs int, opts ...stream.SubscribeOption) (*stream.Publisher[int], func(want int)) {
	b.Helper()
	// A cancellable context, as subscribers usually have: the Publisher
	// checks it around each delivery.
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	p := stream.NewPublisher[int]()
	cs := make([]*counter, subs)
	errs := make(chan error, subs)
	for i := range cs {
		cs[i] = new(counter)
		go func() { errs <- p.Observable(opts...).Subscribe(ctx, cs[i]) }()
	}
	if err := p.WaitSubscribers(ctx, subs); err != nil {
		b.Fatal(err)
	}
	return p, func(want int) {
		p.Complete()
		for range cs {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		for i, c := range cs {
			if c.n != want {
				b.Fatalf("subscriber %d got %d items, want %d", i, c.n, want)
			}
		}
	}
}

// BenchmarkPublisherPush: one Push of one item per op to one inline
// subscriber, from one goroutine (the poller's path, item by item).
func BenchmarkPublisherPush(b *testing.B) {
	p, end := benchAttach(b, 1)
	b.ReportAllocs()
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		p.Push(n)
		n++
	}
	reportCPU(b, cpu0)
	end(n)
}

// BenchmarkPublisherPush4: the same with four inline subscribers.
func BenchmarkPublisherPush4(b *testing.B) {
	p, end := benchAttach(b, 4)
	b.ReportAllocs()
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		p.Push(n)
		n++
	}
	reportCPU(b, cpu0)
	end(n)
}

// BenchmarkPublisherPushBatch: one PushBatch of BatchSize items per op to
// one inline subscriber.
func BenchmarkPublisherPushBatch(b *testing.B) {
	p, end := benchAttach(b, 1)
	batch := make([]int, stream.BatchSize)
	b.ReportAllocs()
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		p.PushBatch(batch)
		n += len(batch)
	}
	reportCPU(b, cpu0)
	end(n)
}

// BenchmarkPublisherPushGap: one Gap per op to one inline subscriber.
func BenchmarkPublisherPushGap(b *testing.B) {
	p, end := benchAttach(b, 1)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		p.Gap(stream.Gap{Dropped: 1})
	}
	reportCPU(b, cpu0)
	end(0)
}

// BenchmarkPublisherPushBuffered: one Push per op to one subscriber behind
// a queue of 1024 items (Block), which runs on its own goroutine.
func BenchmarkPublisherPushBuffered(b *testing.B) {
	p, end := benchAttach(b, 1, stream.WithBuffer(1024, stream.Block))
	b.ReportAllocs()
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		p.Push(n)
		n++
	}
	reportCPU(b, cpu0)
	end(n)
}

// BenchmarkPublisherPushParallel: Push from GOMAXPROCS goroutines at once
// to one inline subscriber (the contended path).
func BenchmarkPublisherPushParallel(b *testing.B) {
	p, end := benchAttach(b, 1)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Push(1)
		}
	})
	reportCPU(b, cpu0)
	end(b.N)
}

// reportCPU reports the process's CPU time per op since cpu0, every
// goroutine included (the subscribers' too).
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu0 > 0 {
		b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
