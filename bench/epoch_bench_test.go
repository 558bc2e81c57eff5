package bench

import "testing"

func BenchmarkAnnounceClear(b *testing.B)                { AnnounceClear(b) }
func BenchmarkEpochEnterExit(b *testing.B)               { EpochEnterExit(b) }
func BenchmarkEpochHandleEnterExit(b *testing.B)         { EpochHandleEnterExit(b) }
func BenchmarkEpochRefresh(b *testing.B)                 { EpochRefresh(b) }
func BenchmarkEpochRetire(b *testing.B)                  { EpochRetire(b) }
func BenchmarkStackGC(b *testing.B)                      { StackGC(b) }
func BenchmarkStackEpochPool(b *testing.B)               { StackEpochPool(b) }
func BenchmarkStackGCParallel(b *testing.B)              { StackGCParallel(b) }
func BenchmarkStackEpochPoolParallel(b *testing.B)       { StackEpochPoolParallel(b) }
func BenchmarkStackEpochPoolHandle(b *testing.B)         { StackEpochPoolHandle(b) }
func BenchmarkStackEpochPoolHot(b *testing.B)            { StackEpochPoolHot(b) }
func BenchmarkStackEpochPoolHotParallel(b *testing.B)    { StackEpochPoolHotParallel(b) }
func BenchmarkStackNoReclaim(b *testing.B)               { StackNoReclaim(b) }
func BenchmarkStackEpochPoolHandleParallel(b *testing.B) { StackEpochPoolHandleParallel(b) }
