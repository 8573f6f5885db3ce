package stream_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/nlrx/nlrx/stream"
)

// counted is a source of 0..n-1 (or failing with err after n items) that
// counts the items its producer made, built each of the ways this package
// offers.
type counted struct {
	name string
	make func(n int, err error, produced *atomic.Int64) stream.Observable[int]
	// slack is how many items may still be delivered after the context is
	// cancelled from inside the observer: the rest of a batch in progress.
	slack int
}

var countedSources = []counted{
	{"FromSlice", func(n int, err error, produced *atomic.Int64) stream.Observable[int] {
		s := stream.FromSlice(seq(n))
		return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
			e := s.Subscribe(ctx, stream.ObserverFuncs[int]{OnBatch: func(vs []int) error {
				produced.Add(int64(len(vs)))
				return o.NextBatch(vs)
			}, OnGap: o.Gap})
			if e == nil {
				e = err
			}
			return e
		})
	}, stream.BatchSize},
	{"FromSeq", func(n int, err error, produced *atomic.Int64) stream.Observable[int] {
		if err != nil {
			return stream.FromSeq2(seq2(n, err, produced))
		}
		return stream.FromSeq(func(yield func(int) bool) {
			for i := range n {
				produced.Add(1)
				if !yield(i) {
					return
				}
			}
		})
	}, 0},
	{"FromFunc", func(n int, err error, produced *atomic.Int64) stream.Observable[int] {
		return stream.FromFunc(func(ctx context.Context, emit func(int) error) error {
			for i := range n {
				produced.Add(1)
				if e := emit(i); e != nil {
					return e
				}
			}
			return err
		})
	}, 0},
	{"FromChan", func(n int, err error, produced *atomic.Int64) stream.Observable[int] {
		return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
			ch := make(chan int)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer close(ch)
				for i := range n {
					select {
					case ch <- i:
						produced.Add(1)
					case <-stop:
						return
					}
				}
			}()
			e := stream.FromChan(ch).Subscribe(ctx, o)
			close(stop)
			<-done
			if e == nil {
				e = err
			}
			return e
		})
	}, 0},
}

func seq2(n int, err error, produced *atomic.Int64) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := range n {
			produced.Add(1)
			if !yield(i, nil) {
				return
			}
		}
		yield(0, err)
	}
}

func TestSourcesEmitInOrderAndCompleteOnce(t *testing.T) {
	for _, src := range countedSources {
		for _, n := range []int{0, 1, 1000} {
			t.Run(src.name, func(t *testing.T) {
				var produced atomic.Int64
				r := newRecorder[int]()
				if err := src.make(n, nil, &produced).Subscribe(testContext(t), r); err != nil {
					t.Fatal(err)
				}
				if got, _ := r.snapshot(); !slices.Equal(got, seq(n)) {
					t.Fatalf("got %d items %v…, want 0..%d in order", len(got), got[:min(len(got), 5)], n-1)
				}
			})
		}
	}
}

func TestSourcesFailAfterTheirItems(t *testing.T) {
	for _, src := range countedSources {
		t.Run(src.name, func(t *testing.T) {
			var produced atomic.Int64
			r := newRecorder[int]()
			err := src.make(5, io.ErrUnexpectedEOF, &produced).Subscribe(testContext(t), r)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("got %v, want the source's error", err)
			}
			if got, _ := r.snapshot(); !slices.Equal(got, seq(5)) {
				t.Fatalf("got %v before the error, want 0..4", got)
			}
		})
	}
}

func TestSourcesStopWhenTheObserverStops(t *testing.T) {
	for _, src := range countedSources {
		t.Run(src.name, func(t *testing.T) {
			var produced atomic.Int64
			r := newRecorder[int]()
			r.stopAfter = 3
			if err := src.make(10_000, nil, &produced).Subscribe(testContext(t), r); err != nil {
				t.Fatal(err)
			}
			if got := r.len(); got != 3 {
				t.Fatalf("observer got %d items, want 3", got)
			}
			if p := produced.Load(); p > int64(3+src.slack) {
				t.Fatalf("producer made %d items after a stop at 3", p)
			}
		})
	}
}

func TestSourcesStopPromptlyOnCancel(t *testing.T) {
	for _, src := range countedSources {
		t.Run(src.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			var produced atomic.Int64
			r := newRecorder[int]()
			r.onItem = func(n int) {
				if n == 10 {
					cancel()
				}
			}
			err := src.make(100_000, nil, &produced).Subscribe(ctx, r)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			delivered := r.len()
			if delivered < 10 || delivered > 10+src.slack {
				t.Fatalf("%d items delivered, want 10 (+%d for a batch in progress)", delivered, src.slack)
			}
			// Producing one more item to find ctx done is allowed; nothing after.
			if p := produced.Load(); p > int64(11+src.slack) {
				t.Fatalf("producer made %d items after cancel at 10", p)
			}
			after := produced.Load()
			if produced.Load() != after || r.len() != delivered {
				t.Fatal("work after Subscribe returned")
			}
		})
	}
}

func TestFixedSources(t *testing.T) {
	ctx := testContext(t)
	if got, err := stream.Collect(ctx, stream.Empty[int]()); err != nil || len(got) != 0 {
		t.Errorf("Empty: %v %v", got, err)
	}
	if got, err := stream.Collect(ctx, stream.Error[int](io.EOF)); !errors.Is(err, io.EOF) || len(got) != 0 {
		t.Errorf("Error: %v %v", got, err)
	}
	if got, err := stream.Collect(ctx, stream.Just(3, 1, 2)); err != nil || !slices.Equal(got, []int{3, 1, 2}) {
		t.Errorf("Just: %v %v", got, err)
	}
	nctx, cancel := context.WithCancel(ctx)
	done := subscribeAsync(t, nctx, stream.Never[int](), newRecorder[int]())
	cancel()
	if err := done(); !errors.Is(err, context.Canceled) {
		t.Errorf("Never: %v", err)
	}
}

func TestFromSliceBatchesAtMostBatchSize(t *testing.T) {
	r := newRecorder[int]()
	if err := stream.FromSlice(seq(3*stream.BatchSize+1)).Subscribe(testContext(t), r); err != nil {
		t.Fatal(err)
	}
	if r.batches != 4 {
		t.Fatalf("%d batches, want 4", r.batches)
	}
}

func TestFromChanBatchesWhatIsQueued(t *testing.T) {
	ch := make(chan int, 10)
	for i := range 10 {
		ch <- i
	}
	close(ch)
	r := newRecorder[int]()
	if err := stream.FromChan(ch).Subscribe(testContext(t), r); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.snapshot(); !slices.Equal(got, seq(10)) || r.calls != 1 {
		t.Fatalf("got %v in %d calls, want 0..9 in one batch", got, r.calls)
	}
}

func TestFromFuncEmitAfterStopKeepsFailing(t *testing.T) {
	var second error
	s := stream.FromFunc(func(ctx context.Context, emit func(int) error) error {
		emit(1)
		second = emit(2) // the producer ignored the first error
		return nil
	})
	r := newRecorder[int]()
	r.fail, r.failAfter = io.ErrClosedPipe, 1
	if err := s.Subscribe(testContext(t), r); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("got %v, want the observer's error even though fn returned nil", err)
	}
	if !errors.Is(second, io.ErrClosedPipe) || r.len() != 1 {
		t.Fatalf("emit after stop returned %v and delivered %d items", second, r.len())
	}
}
