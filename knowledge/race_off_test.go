//go:build !race

package knowledge

// raceEnabled reports a -race build, which makes training several times
// slower; TestSharedDataEval then skips the large knowledge bases.
const raceEnabled = false
