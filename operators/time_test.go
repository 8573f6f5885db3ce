package operators_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/operators/internal/fakeclock"
	"github.com/nlrx/nlrx/stream"
)

// timed drives a time-based operator over a Publisher the test pushes
// into, with a fake clock: no sleeping, every wait bounded.
type timed[R any] struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeclock.Clock
	pub   *stream.Publisher[int]
	rec   *recorder[R]
	done  func() error
}

func startTimed[R any](t *testing.T, timers int, op func(stream.Observable[int], operators.Option) stream.Observable[R]) *timed[R] {
	t.Helper()
	ctx := testContext(t)
	tm := &timed[R]{t: t, ctx: ctx, clock: fakeclock.New(epoch), pub: stream.NewPublisher[int](), rec: newRecorder[R]()}
	tm.done = async(t, ctx, op(tm.pub.Observable(), operators.WithClock(tm.clock)), stream.Observer[R](tm.rec))
	if err := tm.pub.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tm.waitTimers(timers)
	return tm
}

// waitTimers waits until the operator has n timers armed.
func (tm *timed[R]) waitTimers(n int) {
	tm.t.Helper()
	if err := tm.clock.WaitTimers(tm.ctx, n); err != nil {
		tm.t.Fatalf("waiting for %d armed timers: %v", n, err)
	}
}

func (tm *timed[R]) trace() string { return tm.rec.trace() }

func TestBufferTimeEmitsEachPeriodsItems(t *testing.T) {
	tm := startTimed(t, 1, func(s stream.Observable[int], clock operators.Option) stream.Observable[int] {
		return lens(operators.BufferTime(s, time.Second, 0, clock))
	})
	tm.pub.PushBatch([]int{1, 2, 3})
	tm.clock.Advance(time.Second)
	tm.rec.waitLen(t, 1)
	tm.clock.Advance(time.Second) // an empty period emits nothing
	tm.pub.Push(4)
	tm.clock.Advance(time.Second)
	tm.rec.waitLen(t, 2)
	tm.pub.Push(5)
	tm.pub.Complete() // the pending slice is emitted at the end
	if err := tm.done(); err != nil {
		t.Fatal(err)
	}
	if got := tm.trace(); got != "[3 1 1]" {
		t.Fatalf("got %s", got)
	}
}

func TestBufferTimeFlushesEarlyAtMaxSize(t *testing.T) {
	tm := startTimed(t, 1, func(s stream.Observable[int], clock operators.Option) stream.Observable[int] {
		return lens(operators.BufferTime(s, time.Second, 2, clock))
	})
	tm.pub.PushBatch(seq(5)) // 2, 2, and 1 pending
	if got := tm.trace(); got != "[2 2]" {
		t.Fatalf("got %s before any tick", got)
	}
	tm.pub.Error(errBoom) // the pending item is dropped with the error
	if err := tm.done(); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	if got := tm.trace(); got != "[2 2]" {
		t.Fatalf("got %s", got)
	}
}

func TestDebounceEmitsTheLastItemOfABurst(t *testing.T) {
	tm := startTimed(t, 0, func(s stream.Observable[int], clock operators.Option) stream.Observable[int] {
		return operators.Debounce(s, time.Second, clock)
	})
	tm.pub.Push(1)
	tm.waitTimers(1)
	tm.clock.Advance(500 * time.Millisecond)
	tm.pub.PushBatch([]int{2, 3}) // resets the quiet period
	tm.clock.Advance(500 * time.Millisecond)
	// The timer fired at 1s, found 3 too recent, and re-armed for 0.5s.
	tm.waitTimers(1)
	if got := tm.trace(); got != "[]" {
		t.Fatalf("emitted %s during the burst", got)
	}
	tm.clock.Advance(500 * time.Millisecond)
	tm.rec.waitLen(t, 1)
	tm.pub.Push(4)
	tm.pub.Complete() // the pending item is emitted at the end
	if err := tm.done(); err != nil {
		t.Fatal(err)
	}
	if got := tm.trace(); got != "[3 4]" {
		t.Fatalf("got %s", got)
	}
}

func TestThrottleEmitsTheFirstItemOfEachWindow(t *testing.T) {
	clock := fakeclock.New(epoch)
	p := stream.NewPublisher[int]()
	r := newRecorder[int]()
	ctx := testContext(t)
	done := async(t, ctx, operators.Throttle(p.Observable(), time.Second, operators.WithClock(clock)), stream.Observer[int](r))
	if err := p.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	p.Push(1)
	p.PushBatch([]int{2, 3})
	clock.Advance(999 * time.Millisecond)
	p.Push(4)
	clock.Advance(time.Millisecond)
	p.PushBatch([]int{5, 6})
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if got := r.trace(); got != "[1 5]" {
		t.Fatalf("got %s", got)
	}
	if clock.Timers() != 0 {
		t.Fatal("Throttle armed a timer")
	}
}

func TestSampleEmitsTheLatestItemEachPeriod(t *testing.T) {
	tm := startTimed(t, 1, func(s stream.Observable[int], clock operators.Option) stream.Observable[int] {
		return operators.Sample(s, time.Second, clock)
	})
	tm.pub.PushBatch([]int{1, 2})
	tm.clock.Advance(time.Second)
	tm.rec.waitLen(t, 1)
	tm.clock.Advance(time.Second) // nothing new: nothing emitted
	tm.pub.Push(3)
	tm.clock.Advance(time.Second)
	tm.rec.waitLen(t, 2)
	tm.pub.Push(4)
	tm.pub.Complete()
	if err := tm.done(); err != nil {
		t.Fatal(err)
	}
	if got := tm.trace(); got != "[2 3 4]" {
		t.Fatalf("got %s", got)
	}
}

func TestTimeoutFailsAfterSilence(t *testing.T) {
	tm := startTimed(t, 1, func(s stream.Observable[int], clock operators.Option) stream.Observable[int] {
		return operators.Timeout(s, time.Second, clock)
	})
	tm.pub.Push(1)
	tm.clock.Advance(600 * time.Millisecond)
	tm.pub.Push(2) // keeps the stream alive past the first deadline
	tm.clock.Advance(600 * time.Millisecond)
	tm.waitTimers(1) // re-armed for the rest of the period after item 2
	tm.clock.Advance(400 * time.Millisecond)
	err := tm.done()
	if !errors.Is(err, operators.ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if got := tm.trace(); got != "[1 2]" {
		t.Fatalf("got %s", got)
	}
	if tm.pub.Subscribers() != 0 {
		t.Fatal("the source is still subscribed after the timeout")
	}
}

func TestTimeoutBeforeTheFirstItem(t *testing.T) {
	tm := startTimed(t, 1, func(s stream.Observable[int], clock operators.Option) stream.Observable[int] {
		return operators.Timeout(s, time.Second, clock)
	})
	tm.clock.Advance(time.Second)
	if err := tm.done(); !errors.Is(err, operators.ErrTimeout) {
		t.Fatalf("got %v", err)
	}
}

func TestRetryResubscribesWithBackoffThenGivesUp(t *testing.T) {
	clock := fakeclock.New(epoch)
	attempts := 0
	src := stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
		attempts++
		if err := o.Next(attempts); err != nil {
			return err
		}
		return fmt.Errorf("attempt %d: %w", attempts, errBoom)
	})
	policy := operators.RetryPolicy{MaxAttempts: 3, Backoff: operators.ExponentialBackoff(time.Second, time.Minute)}
	r := newRecorder[int]()
	ctx := testContext(t)
	done := async(t, ctx, operators.Retry(src, policy, operators.WithClock(clock)), stream.Observer[int](r))
	if err := clock.WaitTimers(ctx, 1); err != nil { // waiting 1s after attempt 1
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	r.waitLen(t, 2)
	if err := clock.WaitTimers(ctx, 1); err != nil { // waiting 2s after attempt 2
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	if err := done(); !errors.Is(err, errBoom) || attempts != 3 {
		t.Fatalf("got %v after %d attempts, want errBoom after 3", err, attempts)
	}
	if got := r.trace(); got != "[1 2 3]" {
		t.Fatalf("got %s", got)
	}
}

func TestRetryStopsOnSuccessOnUnretryableAndOnSubscriberErrors(t *testing.T) {
	flaky := func(failures int) (stream.Observable[int], *int) {
		n := new(int)
		return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
			*n++
			if *n <= failures {
				return errBoom
			}
			return stream.Just(7).Subscribe(ctx, o)
		}), n
	}
	src, n := flaky(2)
	if got, err := trace(testContext(t), operators.Retry(src, operators.RetryPolicy{})); err != nil || got != "[7]" || *n != 3 {
		t.Fatalf("succeeds on the 3rd: %s %v after %d", got, err, *n)
	}
	src, n = flaky(5)
	policy := operators.RetryPolicy{MaxAttempts: 10, Retryable: func(err error) bool { return !errors.Is(err, errBoom) }}
	if _, err := trace(testContext(t), operators.Retry(src, policy)); !errors.Is(err, errBoom) || *n != 1 {
		t.Fatalf("unretryable: %v after %d", err, *n)
	}
	attempts := 0
	failing := stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
		attempts++
		return o.Next(1)
	})
	err := operators.Retry(failing, operators.RetryPolicy{MaxAttempts: 5}).Subscribe(testContext(t), stream.ObserverFuncs[int]{
		OnNext: func(int) error { return errBoom },
	})
	if !errors.Is(err, errBoom) || attempts != 1 {
		t.Fatalf("subscriber's error: %v after %d attempts, want no retry", err, attempts)
	}
}

func TestRetryBackoffEndsWithTheContext(t *testing.T) {
	clock := fakeclock.New(epoch)
	ctx, cancel := context.WithCancel(testContext(t))
	policy := operators.RetryPolicy{MaxAttempts: 5, Backoff: func(int) time.Duration { return time.Hour }}
	done := async(t, ctx, operators.Retry(stream.Error[int](errBoom), policy, operators.WithClock(clock)), stream.Observer[int](newRecorder[int]()))
	if err := clock.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := done(); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := operators.ExponentialBackoff(time.Second, 5*time.Second)
	var got []time.Duration
	for i := 1; i <= 5; i++ {
		got = append(got, b(i))
	}
	if fmt.Sprint(got) != "[1s 2s 4s 5s 5s]" {
		t.Fatalf("got %v", got)
	}
}
