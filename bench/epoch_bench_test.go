package bench

import "testing"

// The benchmarks that have a robust-mode form run both as sub-benchmarks,
// mode=classic and mode=robust, so that `benchstat -col /mode` sets them
// side by side.
func modes(b *testing.B, classic, robust func(*testing.B)) {
	b.Run("mode=classic", classic)
	b.Run("mode=robust", robust)
}

func BenchmarkAnnounceClear(b *testing.B) { AnnounceClear(b) }
func BenchmarkEpochEnterExit(b *testing.B) {
	modes(b, EpochEnterExit, EpochEnterExitRobust)
}
func BenchmarkEpochHandleEnterExit(b *testing.B) {
	modes(b, EpochHandleEnterExit, EpochHandleEnterExitRobust)
}
func BenchmarkHelperCall(b *testing.B)                 { HelperCall(b) }
func BenchmarkEpochEnterExitHelper(b *testing.B)       { EpochEnterExitHelper(b) }
func BenchmarkEpochHandleEnterExitHelper(b *testing.B) { EpochHandleEnterExitHelper(b) }
func BenchmarkEpochRefresh(b *testing.B)               { EpochRefresh(b) }
func BenchmarkEpochRetire(b *testing.B)                { EpochRetire(b) }
func BenchmarkMisses(b *testing.B)                     { Misses(b) }
func BenchmarkEpochHandleEnterExitMisses(b *testing.B) { EpochHandleEnterExitMisses(b) }
func BenchmarkEpochEnterExitMisses(b *testing.B)       { EpochEnterExitMisses(b) }
func BenchmarkStackGC(b *testing.B)                    { StackGC(b) }
func BenchmarkStackEpochPool(b *testing.B) {
	modes(b, StackEpochPool, StackEpochPoolRobust)
}
func BenchmarkStackGCParallel(b *testing.B) { StackGCParallel(b) }
func BenchmarkStackEpochPoolParallel(b *testing.B) {
	modes(b, StackEpochPoolParallel, StackEpochPoolParallelRobust)
}
func BenchmarkStackEpochPoolHandle(b *testing.B)         { StackEpochPoolHandle(b) }
func BenchmarkStackEpochPoolHot(b *testing.B)            { StackEpochPoolHot(b) }
func BenchmarkStackEpochPoolHotParallel(b *testing.B)    { StackEpochPoolHotParallel(b) }
func BenchmarkStackNoReclaim(b *testing.B)               { StackNoReclaim(b) }
func BenchmarkStackEpochPoolHandleParallel(b *testing.B) { StackEpochPoolHandleParallel(b) }
