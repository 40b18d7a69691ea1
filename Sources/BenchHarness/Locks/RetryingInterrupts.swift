import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Retries a call that returns -1 with errno EINTR (a signal interrupted a
/// blocking lock call); any other failure becomes a typed error.
func retryingInterrupts(_ call: @autoclosure () -> String, _ body: () -> Int32) throws(HarnessError) {
    while body() == -1 {
        guard errno == EINTR else { throw .lastErrno(call()) }
    }
}
