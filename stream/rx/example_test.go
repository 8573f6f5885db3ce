package rx_test

import (
	"context"
	"fmt"

	"github.com/reactivex/rxgo/v2"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/rx"
)

// Filter and map in the typed core, then hand the result to rxgo.
func ExampleToRx() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends the producer even if the rxgo side stops early
	evens := operators.Filter(stream.Just(1, 2, 3, 4, 5, 6), func(v int) bool { return v%2 == 0 })
	obs := rx.ToRx(ctx, evens).Map(func(_ context.Context, v any) (any, error) {
		return v.(int) * 10, nil
	})
	for it := range obs.Observe() {
		fmt.Println(it.V, it.E)
	}
	// Output:
	// 20 <nil>
	// 40 <nil>
	// 60 <nil>
}

// One rxgo item per batch: the cheap way across.
func ExampleToRxBatched() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	for it := range rx.ToRxBatched(ctx, stream.FromSlice(make([]int, 1000))).Observe() {
		n += len(it.V.([]int))
	}
	fmt.Println(n)
	// Output: 1000
}

// From rxgo back to a typed stream.
func ExampleFromRx() {
	got, err := stream.Collect(context.Background(), rx.FromRx[string](rxgo.Just("lo", "v0")()))
	fmt.Println(got, err)
	// Output: [lo v0] <nil>
}
