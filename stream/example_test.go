package stream_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/nlrx/nlrx/stream"
)

// A cold source, stopped early by its Observer, and the result of
// Subscribe.
func Example() {
	ctx := context.Background()
	src := stream.FromSlice([]int{1, 2, 3, 4, 5})
	err := src.Subscribe(ctx, stream.ObserverFuncs[int]{
		OnNext: func(v int) error {
			fmt.Println("got", v)
			if v == 3 {
				return stream.ErrStop // enough: stop the source, no error
			}
			return nil
		},
	})
	fmt.Println("err:", err)
	// Output:
	// got 1
	// got 2
	// got 3
	// err: <nil>
}

// A hot source with two subscribers: one inline, one with a small queue
// that drops the newest items when full and says so with a Gap.
func ExamplePublisher() {
	ctx := context.Background()
	pub := stream.NewPublisher[int]()

	lossy := make(chan string, 1)
	gate := make(chan struct{})
	go func() {
		var out []string
		err := pub.Observable(stream.WithBuffer(2, stream.DropNewest)).Subscribe(ctx, stream.ObserverFuncs[int]{
			OnNext: func(v int) error {
				<-gate // a slow consumer
				out = append(out, fmt.Sprint(v))
				return nil
			},
			OnGap: func(g stream.Gap) error {
				out = append(out, fmt.Sprintf("gap(%d lost)", g.Dropped))
				return nil
			},
		})
		lossy <- fmt.Sprint(out, " ", err)
	}()
	pub.WaitSubscribers(ctx, 1)

	// The queue of 2 takes items 0 and 1; 2 to 4 are dropped and marked.
	pub.PushBatch([]int{0, 1, 2, 3, 4})
	pub.Complete()
	close(gate)
	fmt.Println(<-lossy)
	fmt.Println("dropped:", pub.Dropped())
	// Output:
	// [0 1 gap(3 lost)] <nil>
	// dropped: 3
}

// Range over a stream; gaps arrive in band and the stream's error last.
func ExampleSeq2() {
	src := stream.Create(func(ctx context.Context, o stream.Observer[string]) error {
		o.NextBatch([]string{"a", "b"})
		o.Gap(stream.Gap{Dropped: 1, Cause: stream.ErrOverflow})
		o.Next("c")
		return errors.New("socket closed")
	})
	for v, err := range stream.Seq2(context.Background(), src) {
		var gap stream.Gap
		switch {
		case errors.As(err, &gap):
			fmt.Println("lost", gap.Dropped, "- resynchronise")
		case err != nil:
			fmt.Println("end:", err)
		default:
			fmt.Println(v)
		}
	}
	// Output:
	// a
	// b
	// lost 1 - resynchronise
	// c
	// end: socket closed
}

func ExampleCollect() {
	got, err := stream.Collect(context.Background(), stream.Just("lo", "v0", "v1"))
	fmt.Println(got, err)
	// Output: [lo v0 v1] <nil>
}
