import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every fuzz target, chosen at start with `--target=NAME` (libFuzzer ignores flags that begin with
/// `--` and hands them on to the processes it forks, so one binary serves every target).
let allTargets: [FuzzTarget] = [
    csvTarget, rosterTarget, dateTarget, kanaTarget, xmlTarget, zipTarget, gzipTarget, barcodeTarget,
    profileTarget, pipelineTarget,
]

nonisolated(unsafe) var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    var name: String?
    let args = argv.pointee!
    for i in 0..<Int(argc.pointee) {
        guard let a = args[i] else { continue }
        let s = String(cString: a)
        if s.hasPrefix("--target=") { name = String(s.dropFirst("--target=".count)) }
        if s == "--list-targets" {
            for t in allTargets { print("\(t.name)\t\(t.summary)") }
            exit(0)
        }
    }
    guard let name, let t = allTargets.first(where: { $0.name == name }) else {
        let names = allTargets.map(\.name).joined(separator: " ")
        fputs("kenpo-fuzz: name the target with --target=NAME (one of: \(names)); --list-targets describes them\n", stderr)
        exit(2)
    }
    selected = t
    _ = Scratch.folder
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    selected!.run(bytes)
    return 0
}
