import CShim
import XCTest

/// `cshim_newline_offsets` (pub's block newline scan) against a byte-by-byte
/// search: every length and alignment around its 64-byte blocks, and an
/// offsets array that fills up mid-block.
final class NewlineScanTests: XCTestCase {
    func testEveryNewlineIsFoundInOrderAndAFullArrayStopsAfterItsLast() {
        var generator = RecordRingTests.SeededGenerator(state: 3)
        for trial in 0..<400 {
            let count = trial < 200 ? trial : Int(generator.next() % 5000)
            let density = [2, 7, 64, 1000][trial % 4]
            var bytes = (0..<count).map { _ in generator.next() % UInt64(density) == 0 ? UInt8(0x0A) : UInt8(truncatingIfNeeded: generator.next() | 1) }
            let expected = bytes.indices.filter { bytes[$0] == 0x0A }
            for capacity in [1, 3, 64, 4096] {
                var found: [Int] = []
                var start = 0
                var offsets = [UInt32](repeating: 0, count: capacity)
                while start < count {
                    var scanned = 0
                    let n = bytes.withUnsafeMutableBytes { buffer in
                        cshim_newline_offsets(buffer.baseAddress! + start, count - start, &offsets, capacity, &scanned)
                    }
                    found += offsets.prefix(n).map { start + Int($0) }
                    if n == capacity, scanned < count - start {
                        XCTAssertEqual(scanned, Int(offsets[n - 1]) + 1, "trial \(trial): scanned ends after the last newline stored")
                    } else {
                        XCTAssertEqual(scanned, count - start, "trial \(trial)")
                    }
                    XCTAssertGreaterThan(scanned, 0)
                    start += scanned
                }
                XCTAssertEqual(found, expected, "trial \(trial), \(count) bytes, capacity \(capacity)")
            }
            bytes.removeAll()
        }
    }
}
