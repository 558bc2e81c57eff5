package bench

import "testing"

func BenchmarkRefcountAddPair(b *testing.B)             { RefcountAddPair(b) }
func BenchmarkRefcountPointerLoad(b *testing.B)         { RefcountPointerLoad(b) }
func BenchmarkRefcountLoadAddPair(b *testing.B)         { RefcountLoadAddPair(b) }
func BenchmarkRefcountHazardLoad(b *testing.B)          { RefcountHazardLoad(b) }
func BenchmarkRefcountEpochLoad(b *testing.B)           { RefcountEpochLoad(b) }
func BenchmarkArcCloneRelease(b *testing.B)             { ArcCloneRelease(b) }
func BenchmarkArcUpgradeRelease(b *testing.B)           { ArcUpgradeRelease(b) }
func BenchmarkRefcountRcCloneRelease(b *testing.B)      { RefcountRcCloneRelease(b) }
func BenchmarkArcLoadRelease(b *testing.B)              { ArcLoadRelease(b) }
func BenchmarkArcBorrowRelease(b *testing.B)            { ArcBorrowRelease(b) }
func BenchmarkArcStore(b *testing.B)                    { ArcStore(b) }
func BenchmarkRefcountPointerLoadParallel(b *testing.B) { RefcountPointerLoadParallel(b) }
func BenchmarkArcLoadParallel(b *testing.B)             { ArcLoadParallel(b) }
func BenchmarkArcBorrowParallel(b *testing.B)           { ArcBorrowParallel(b) }
func BenchmarkRefcountPointerWithWriter(b *testing.B)   { RefcountPointerWithWriter(b) }
func BenchmarkRefcountRWMutexWithWriter(b *testing.B)   { RefcountRWMutexWithWriter(b) }
func BenchmarkArcLoadWithWriter(b *testing.B)           { ArcLoadWithWriter(b) }
func BenchmarkArcBorrowWithWriter(b *testing.B)         { ArcBorrowWithWriter(b) }
