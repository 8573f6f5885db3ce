package stream_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlrx/nlrx/stream"
)

// gappy emits 0, 1, a Gap of 2 items, 2, then fails with err if not nil.
func gappy(err error) stream.Observable[int] {
	return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
		if e := o.NextBatch([]int{0, 1}); e != nil {
			return e
		}
		if e := o.Gap(stream.Gap{Dropped: 2, Cause: stream.ErrOverflow}); e != nil {
			return e
		}
		if e := o.Next(2); e != nil {
			return e
		}
		return err
	})
}

func TestCollectReturnsItemsAndFailsOnGap(t *testing.T) {
	ctx := testContext(t)
	got, err := stream.Collect(ctx, stream.FromSlice(seq(1000)))
	if err != nil || !slices.Equal(got, seq(1000)) {
		t.Fatalf("Collect: %d items, %v", len(got), err)
	}
	got, err = stream.Collect(ctx, gappy(nil))
	var g stream.Gap
	if !errors.As(err, &g) || g.Dropped != 2 || !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("Collect over a gap: %v, %v; want [0 1] and the Gap", got, err)
	}
	got, err = stream.Collect(ctx, stream.Error[int](io.EOF))
	if !errors.Is(err, io.EOF) || len(got) != 0 {
		t.Fatalf("Collect of a failed stream: %v %v", got, err)
	}
}

func TestAppendToReusesCapacity(t *testing.T) {
	dst := make([]int, 0, 1000)
	src := stream.FromSlice(seq(1000))
	allocs := testing.AllocsPerRun(10, func() {
		var err error
		dst, err = stream.AppendTo(context.Background(), dst[:0], src)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("AppendTo into a presized slice: %v allocations per run, want ≤ 1 (the collector)", allocs)
	}
}

func TestForEachStopsOnFnError(t *testing.T) {
	var seen []int
	err := stream.ForEach(testContext(t), stream.FromSlice(seq(10)), func(v int) error {
		seen = append(seen, v)
		if v == 3 {
			return io.ErrShortWrite
		}
		return nil
	})
	if !errors.Is(err, io.ErrShortWrite) || !slices.Equal(seen, seq(4)) {
		t.Fatalf("got %v %v", seen, err)
	}
	if err := stream.ForEach(testContext(t), gappy(nil), func(int) error { return nil }); !errors.Is(err, stream.ErrGap) {
		t.Fatalf("ForEach over a gap: %v, want the gap", err)
	}
}

func TestToChanDeliversItemsGapsAndError(t *testing.T) {
	var got []int
	var gaps, errs int
	for it := range stream.ToChan(testContext(t), gappy(io.EOF), 0) {
		switch {
		case it.Err == nil:
			got = append(got, it.V)
		case errors.Is(it.Err, stream.ErrGap):
			gaps++
		default:
			if !errors.Is(it.Err, io.EOF) {
				t.Errorf("error item %v", it.Err)
			}
			errs++
		}
	}
	if !slices.Equal(got, seq(3)) || gaps != 1 || errs != 1 {
		t.Fatalf("items %v, %d gaps, %d errors", got, gaps, errs)
	}
	n := 0
	for it := range stream.ToChan(testContext(t), stream.FromSlice(seq(5)), 2) {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		n++
	}
	if n != 5 {
		t.Fatalf("%d items from a completed stream", n)
	}
}

func TestToChanEarlyStopWithCancelLeaksNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(testContext(t))
	var produced atomic.Int64
	src := stream.FromFunc(func(ctx context.Context, emit func(int) error) error {
		for i := 0; ; i++ {
			produced.Add(1)
			if err := emit(i); err != nil {
				return err
			}
		}
	})
	ch := stream.ToChan(ctx, src, 0)
	recv := func() bool {
		t.Helper()
		select {
		case it, ok := <-ch:
			return ok && it.V != 5
		case <-time.After(wait):
			t.Fatal("ToChan's channel neither sent nor closed")
			return false
		}
	}
	for recv() {
	}
	cancel()
	for recv() { // the channel closes once the goroutine has stopped
	}
	if p := produced.Load(); p > 8 {
		t.Fatalf("producer made %d items for a consumer that stopped at 6", p)
	}
}

func TestSeqBreakStopsTheSource(t *testing.T) {
	var produced atomic.Int64
	src := stream.FromFunc(func(ctx context.Context, emit func(int) error) error {
		for i := 0; ; i++ {
			produced.Add(1)
			if err := emit(i); err != nil {
				return err
			}
		}
	})
	s, errf := stream.Seq(testContext(t), src)
	var got []int
	for v := range s {
		got = append(got, v)
		if v == 4 {
			break
		}
	}
	if !slices.Equal(got, seq(5)) || errf() != nil || produced.Load() != 5 {
		t.Fatalf("got %v, err %v, produced %d", got, errf(), produced.Load())
	}
	s, errf = stream.Seq(testContext(t), gappy(nil))
	got = got[:0]
	for v := range s {
		got = append(got, v)
	}
	if !slices.Equal(got, []int{0, 1}) || !errors.Is(errf(), stream.ErrGap) {
		t.Fatalf("over a gap: %v, %v", got, errf())
	}
}

func TestSeq2YieldsGapsInBandAndTheErrorLast(t *testing.T) {
	var events []string
	for v, err := range stream.Seq2(testContext(t), gappy(io.EOF)) {
		switch {
		case err == nil:
			events = append(events, string(rune('0'+v)))
		case errors.Is(err, stream.ErrGap):
			events = append(events, "gap")
		default:
			events = append(events, "err")
		}
	}
	if !slices.Equal(events, []string{"0", "1", "gap", "2", "err"}) {
		t.Fatalf("got %v", events)
	}
	n := 0
	for range stream.Seq2(testContext(t), gappy(io.EOF)) {
		n++
		break
	}
	if n != 1 {
		t.Fatal("break did not stop the range")
	}
}
