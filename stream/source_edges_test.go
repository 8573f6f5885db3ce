package stream_test

import (
	"slices"
	"testing"

	"github.com/nlrx/nlrx/stream"
)

// FromChan drains what is queued in batches of at most BatchSize, in
// order, however much is queued.
func TestFromChanBatchesAtMostBatchSize(t *testing.T) {
	const n = 3*stream.BatchSize + 5
	ch := make(chan int, n)
	for i := range n {
		ch <- i
	}
	close(ch)
	l := &batchLog{}
	if err := stream.FromChan(ch).Subscribe(testContext(t), stream.Observer[int](l)); err != nil {
		t.Fatal(err)
	}
	_, items, batches := l.snapshot()
	if !slices.Equal(items, seq(n)) {
		t.Fatalf("got %d items, want 0..%d in order", len(items), n-1)
	}
	for _, b := range batches {
		if b > stream.BatchSize {
			t.Fatalf("batches %v: one is larger than BatchSize (%d)", batches, stream.BatchSize)
		}
	}
}
