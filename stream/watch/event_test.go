package watch

import "testing"

func TestIsChangeTellsChangesFromMarkers(t *testing.T) {
	for k := Kind(0); k <= ResyncComplete+1; k++ {
		want := k == Added || k == Changed || k == Deleted
		e := Event[int]{Kind: k}
		if k.IsChange() != want || e.IsChange() != want {
			t.Errorf("%v: IsChange %v (event %v), want %v", k, k.IsChange(), e.IsChange(), want)
		}
	}
}
