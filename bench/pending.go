package main

// Scenarios whose packages are still being written are registered here
// with the reason they cannot run, so that `-list` shows them and asking
// for one fails with a clear message. The file that implements a scenario
// takes its entry out of this list.
func init() {
	for _, s := range []*scenario{} {
		register(s)
	}
}
