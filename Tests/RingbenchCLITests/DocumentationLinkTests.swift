import Foundation

import XCTest

/// The README is the front door: every relative link in it must lead to a
/// file, every `ringbench X` it shows must be a subcommand the binary has,
/// and every `make X` a target the Makefile defines. The docs it links to
/// are held to the same links rule.
final class DocumentationLinkTests: XCTestCase {
    /// The package root: the test file sits at Tests/RingbenchCLITests/.
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private func text(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    /// Markdown link targets `](target)` that are not web addresses or anchors.
    private func relativeLinks(in markdown: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: #"\]\(([^)\s]+)\)"#)
        let range = NSRange(markdown.startIndex..., in: markdown)
        return regex.matches(in: markdown, range: range).compactMap { match in
            guard let r = Range(match.range(at: 1), in: markdown) else { return nil }
            let target = String(markdown[r])
            if target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("#") { return nil }
            return String(target.split(separator: "#", maxSplits: 1)[0])
        }
    }

    func testReadmeIsAShortFrontDoor() throws {
        let readme = try text("README.md")
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).count
        XCTAssertLessThanOrEqual(lines, 200, "the README is a front door of at most 200 lines; move detail into docs/")
    }

    func testEveryRelativeLinkInTheReadmeAndDocsLeadsToAFile() throws {
        var documents = ["README.md"]
        let docs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)
        documents += docs.filter { $0.hasSuffix(".md") }.map { "docs/\($0)" }
        for document in documents {
            let base = root.appendingPathComponent(document).deletingLastPathComponent()
            for link in relativeLinks(in: try text(document)) {
                let target = base.appendingPathComponent(link).standardizedFileURL.path
                XCTAssertTrue(FileManager.default.fileExists(atPath: target), "\(document) links to \(link), which does not exist")
            }
        }
    }

    func testEveryCommandTheReadmeShowsExists() throws {
        let readme = try text("README.md")
        let help = try Ringbench.run(["--help"])
        XCTAssertEqual(help.status, 0)
        let subcommands = Set(help.stdout.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let first = words.first else { return nil }
            return String(first)
        })
        let makefile = try text("Makefile")
        let targets = Set(makefile.split(separator: "\n").compactMap { line -> String? in
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("\t"), !line.hasPrefix("#") else { return nil }
            let name = line[..<colon]
            return name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) ? String(name) : nil
        })
        let regex = try NSRegularExpression(pattern: #"\b(ringbench|make) ([a-z][a-z-]*)"#)
        var checked = 0
        for match in regex.matches(in: readme, range: NSRange(readme.startIndex..., in: readme)) {
            guard let toolRange = Range(match.range(at: 1), in: readme),
                  let nameRange = Range(match.range(at: 2), in: readme) else { continue }
            let name = String(readme[nameRange])
            if readme[toolRange] == "make" {
                XCTAssertTrue(targets.contains(name), "the README shows `make \(name)`, which the Makefile does not define")
            } else if name != "is" && name != "and" {   // prose: "ringbench is a ..."
                XCTAssertTrue(subcommands.contains(name), "the README shows `ringbench \(name)`, which is not a subcommand")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10, "the README should show the commands it documents")
    }
}
