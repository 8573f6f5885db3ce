package stream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/nlrx/nlrx/stream"
)

func TestSubscribeOnZeroObservableFails(t *testing.T) {
	var s stream.Observable[int]
	if err := s.Subscribe(context.Background(), newRecorder[int]()); !errors.Is(err, stream.ErrNilObservable) {
		t.Fatalf("got %v, want ErrNilObservable", err)
	}
}

func TestSubscribeRejectsNilObserverAndContext(t *testing.T) {
	s := stream.Just(1)
	if err := s.Subscribe(context.Background(), nil); err == nil {
		t.Error("nil Observer accepted")
	}
	//lint:ignore SA1012 testing the nil check
	if err := s.Subscribe(nil, newRecorder[int]()); err == nil { //nolint:staticcheck
		t.Error("nil context accepted")
	}
}

func TestSubscribeWithDoneContextDoesNotStartSource(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	started := false
	s := stream.Create(func(context.Context, stream.Observer[int]) error { started = true; return nil })
	if err := s.Subscribe(ctx, newRecorder[int]()); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if started {
		t.Fatal("source started with a done context")
	}
}

func TestErrStopCompletesTheSubscription(t *testing.T) {
	r := newRecorder[int]()
	r.stopAfter = 3
	if err := stream.FromSlice(seq(10)).Subscribe(context.Background(), r); err != nil {
		t.Fatalf("got %v, want nil after ErrStop", err)
	}
	// Wrapped ErrStop is a stop too.
	s := stream.Create(func(context.Context, stream.Observer[int]) error {
		return fmt.Errorf("source saw: %w", stream.ErrStop)
	})
	if err := s.Subscribe(context.Background(), r); err != nil {
		t.Fatalf("wrapped ErrStop: got %v, want nil", err)
	}
}

func TestObserverErrorIsTheResult(t *testing.T) {
	r := newRecorder[int]()
	r.fail, r.failAfter = io.ErrUnexpectedEOF, 2
	err := stream.FromSlice(seq(10)).Subscribe(context.Background(), r)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want the observer's error", err)
	}
	if got := r.len(); got != 2 {
		t.Fatalf("got %d items, want 2", got)
	}
}

func TestGapIsAnErrorMatchingItsCause(t *testing.T) {
	cause := fmt.Errorf("receive: %w", syscall.ENOBUFS)
	tests := []struct {
		name    string
		gap     stream.Gap
		is      []error
		message string
	}{
		{"counted overflow", stream.Gap{Dropped: 5, Cause: stream.ErrOverflow}, []error{stream.ErrGap, stream.ErrOverflow}, "stream: 5 items lost: stream: subscriber buffer full"},
		{"kernel overrun", stream.Gap{Cause: cause}, []error{stream.ErrGap, syscall.ENOBUFS}, "stream: items lost: receive: " + syscall.ENOBUFS.Error()},
		{"one item", stream.Gap{Dropped: 1}, []error{stream.ErrGap}, "stream: 1 items lost"},
		{"no cause", stream.Gap{}, []error{stream.ErrGap}, "stream: items lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error = fmt.Errorf("wrapped: %w", tt.gap)
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			var g stream.Gap
			if !errors.As(err, &g) || g.Dropped != tt.gap.Dropped {
				t.Errorf("errors.As gave %+v", g)
			}
			// An uncounted loss says so, rather than "0 items lost".
			if got := tt.gap.Error(); got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("wrapped message %q lacks %q", err.Error(), tt.message)
			}
		})
	}
}

func TestObserverFuncsDefaults(t *testing.T) {
	var got []int
	f := stream.ObserverFuncs[int]{OnNext: func(v int) error { got = append(got, v); return nil }}
	if err := f.NextBatch([]int{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := f.Gap(stream.Gap{Dropped: 1}); !errors.Is(err, stream.ErrGap) {
		t.Errorf("nil OnGap returned %v, want the gap", err)
	}
	var batches [][]int
	b := stream.ObserverFuncs[int]{OnBatch: func(vs []int) error { batches = append(batches, append([]int(nil), vs...)); return nil }}
	if err := b.Next(3); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got, batches) != "[1 2] [[3]]" {
		t.Errorf("got %v %v", got, batches)
	}
	var none stream.ObserverFuncs[int]
	if none.Next(1) != nil || none.NextBatch([]int{1}) != nil {
		t.Error("empty ObserverFuncs should discard items")
	}
}
