#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

func writeToStandardError(_ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(2, pointer, count)
}
